// cli/bench_train.cpp — `eqt bench train`: training-step cost of every family at its CPU
// preset, measured one after another in one process (forward + backward + clip + AdamW, the
// trainer's loss), with ratio_to_standard = ms/step / the standard preset's ms/step from the
// same run: ratios survive a shared, noisy machine; absolute times do not. Beside each step
// time, its FLOP time: the matrix-product FLOPs of one step (counted as they run,
// util/flop_count.h, in an unmeasured step) at the GEMM rate `eqt env` measures in the same
// process, and x FLOP time = ms/step / that floor (1 would be a step that runs at GEMM speed).
// What it is not: a training run (no validation, checkpoint or log; weights are thrown away).
#include "cli/commands.h"
#include "cli/json_file.h"
#include "cli/inference_model.h"
#include "cli/preset.h"

#include "eqt/data/make_task.h"
#include "eqt/models/family.h"
#include "eqt/models/model.h"
#include "eqt/train/loss.h"
#include "eqt/util/blas_check.h"
#include "eqt/util/flop_count.h"
#include "eqt/util/memory_meter.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

namespace eqt::cli {
namespace {

struct BenchTrainArgs {
  bool json = false;
  std::vector<std::string> models = models::family_names();
  std::string task = "parity";
  int64_t steps = 20, warmup = 5, batch = 0;
  uint64_t seed = 0;
  std::string device = "cpu", precision = "fp32";
};

nlohmann::json bench_one(const std::string& family, const BenchTrainArgs& a) {
  auto p = load_preset(family, a.task, "", nlohmann::json::object(), false);
  const int64_t B = a.batch > 0 ? a.batch : p.topt.batch;
  torch::manual_seed(a.seed);
  auto model = models::make_model(p.cfg);
  const torch::Device device = parse_device(a.device);
  const bool bf16 = a.precision == "bf16";
  model->to(device);
  model->train();
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(p.topt.lr).weight_decay(p.topt.weight_decay));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(a.seed);
  double steps_sum = 0, ms = 0;
  int64_t tokens = 0;
  // Deep supervision (the preset's train.supervision N, families with a loop state): one
  // batch for N steps, each starting from the last one's state, as the trainer runs it
  // when no row halts early.
  const int64_t N = models::find_family(family).has_state ? p.topt.supervision : 1;
  data::Batch batch;
  torch::Tensor carried;  // (B, T, S) the last step's state, undefined at an example's first step
  int64_t held = 0;       // supervision steps the batch has had
  auto step = [&](bool measured) {
    if (held % N == 0) {
      batch = p.task->train_batch(B, gen);
      carried = torch::Tensor();
    }
    models::ForwardOptions fo;
    if (carried.defined()) {
      fo.start.policy = models::StartState::Policy::Given;
      fo.start.given = carried;
    }
    auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    auto out = train::training_forward(*model, batch.tokens, device, bf16, fo);
    train::training_loss(out, batch.targets.to(device), -1, 1.0, p.topt.loss).backward();
    ++held;
    if (N > 1) carried = out.state.detach();
    if (p.topt.clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), p.topt.clip);
    opt.step();
    if (device.is_cuda()) torch::cuda::synchronize();  // the step's kernels are done
    if (!measured) return;
    ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    tokens += batch.tokens.numel();
    if (out.stats.steps.defined()) steps_sum += out.stats.steps.mean().item<double>();
  };
  for (int64_t i = 0; i < a.warmup; ++i) step(false);
  double flops = 0;
  {
    util::FlopCount count;  // one more unmeasured step, its products counted
    step(false);
    flops = count.flops();
  }
  const int64_t peak = util::measure_peak_bytes([&] {
    for (int64_t i = 0; i < a.steps; ++i) step(true);
  });
  return {{"model", family},
          {"task", a.task},
          {"device", device.str()},
          {"precision", a.precision},
          {"params", model->param_total()},
          {"batch", B},
          {"ms_per_step", ms / double(a.steps)},
          {"tokens_per_s", double(tokens) / (ms / 1000.0)},
          {"solver_steps_mean", steps_sum / double(a.steps)},
          {"supervision", N},
          {"gflop_per_step", flops / 1e9},
          {"peak_bytes", peak}};
}

nlohmann::json run_bench(BenchTrainArgs a) {
  util::MemoryMeter::install();
  // The standard preset is the unit of every ratio, so it is always measured, first.
  const std::string standard = models::baseline_family();
  a.models.erase(std::remove(a.models.begin(), a.models.end(), standard), a.models.end());
  a.models.insert(a.models.begin(), standard);
  nlohmann::json rows = nlohmann::json::array();
  double base_ms = 0;
  // The GEMM rate of `eqt env` (best of several 512 x 512 float32 products), measured here,
  // with the threads the steps use; on a GPU the CPU's rate is no floor, so none is given.
  const double gemm_gflops = a.device == "cpu" ? util::check_blas().gemm_gflops : 0.0;
  for (const auto& family : a.models) {
    auto r = bench_one(family, a);
    if (family == standard) base_ms = r["ms_per_step"].get<double>();
    r["ratio_to_standard"] = r["ms_per_step"].get<double>() / base_ms;
    const double flop_ms = gemm_gflops > 0 ? r["gflop_per_step"].get<double>() / gemm_gflops * 1e3 : 0.0;
    r["flop_ms_per_step"] = flop_ms;
    r["x_flop_time"] = flop_ms > 0 ? r["ms_per_step"].get<double>() / flop_ms : 0.0;
    std::fprintf(stderr, "bench train: %-10s %s  %9.1f ms/step  %5.2fx standard  %6.2f solver steps  %7.3f GFLOP  %7.1f ms at GEMM rate\n",
                 family.c_str(), a.task.c_str(), r["ms_per_step"].get<double>(), r["ratio_to_standard"].get<double>(),
                 r["solver_steps_mean"].get<double>(), r["gflop_per_step"].get<double>(), flop_ms);
    rows.push_back(r);
  }
  return {{"gemm_gflops", gemm_gflops}, {"results", rows}};
}

void print_table(const nlohmann::json& out) {
  std::cout << fmt::format("{:<10} {:<7} {:>9} {:>6} {:>10} {:>11} {:>9} {:>12} {:>10} {:>11} {:>12} {:>11}\n", "model",
                           "task", "params", "batch", "ms/step", "tokens/s", "x std", "solver steps", "peak MiB",
                           "GFLOP/step", "FLOP ms/step", "x FLOP time");
  for (const auto& r : out["results"])
    std::cout << fmt::format("{:<10} {:<7} {:>9} {:>6} {:>10.1f} {:>11.0f} {:>9.2f} {:>12.2f} {:>10.1f} {:>11.3f} {:>12.1f} {:>11.1f}\n",
                             r["model"].get<std::string>(), r["task"].get<std::string>(), r["params"].get<int64_t>(),
                             r["batch"].get<int64_t>(), r["ms_per_step"].get<double>(),
                             r["tokens_per_s"].get<double>(), r["ratio_to_standard"].get<double>(),
                             r["solver_steps_mean"].get<double>(), r["peak_bytes"].get<int64_t>() / 1048576.0,
                             r["gflop_per_step"].get<double>(), r["flop_ms_per_step"].get<double>(),
                             r["x_flop_time"].get<double>());
  if (out["gemm_gflops"].get<double>() > 0)
    std::cout << fmt::format("FLOP time: the step's matrix-product FLOPs at {:.1f} GFLOP/s (eqt env's 512 x 512 GEMM rate, "
                             "measured in this run)\n", out["gemm_gflops"].get<double>());
}

}  // namespace

void register_bench_train(CLI::App& bench) {
  auto a = std::make_shared<BenchTrainArgs>();
  auto* cmd = bench.add_subcommand("train", "Training ms/step of every family at its CPU preset, and the ratio to standard");
  cmd->add_flag("--json", a->json, "Print exactly one JSON object on stdout");
  cmd->add_option("--models", a->models, "families (standard is always measured: it is the ratios' unit)")
      ->capture_default_str()->delimiter(',')->check(CLI::IsMember(models::family_names()));
  cmd->add_option("--task", a->task, "the presets' task: " + data::task_choices())
      ->capture_default_str()->check(CLI::IsMember(data::task_names()));
  cmd->add_option("--steps", a->steps, "measured steps per family")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", a->warmup, "unmeasured steps first")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", a->batch, "batch size (default: the preset's)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a->seed, "seed of weights and batches")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--precision", a->precision, "fp32 | bf16 (the forward under bfloat16 autocast)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->callback([a] {
    auto out = run_bench(*a);
    print_result(out, a->json, print_table);
  });
}

}  // namespace eqt::cli
