// cli/bench_generate.cpp — `eqt bench generate`: tokens/s of cached versus recompute
// decoding, side by side in one run, per family and prompt length, with the mean solver
// steps per token. Models: the CPU text presets' architectures (configs/<family>-text.json)
// with random weights from --seed, or trained runs (--run, repeatable). Greedy decoding of
// --new-tokens tokens from a random prompt; tokens/s counts the tokens after the first
// (the prompt's own pass is the same work in both modes and is excluded).
#include "cli/preset.h"
#include "cli/commands.h"
#include "cli/inference_model.h"
#include "cli/json_file.h"

#include "eqt/infer/generator.h"
#include "eqt/models/family.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

namespace eqt::cli {
namespace {

struct BenchGenerateArgs {
  bool json = false;
  std::vector<int64_t> prompt_lens = {64, 512};
  int64_t new_tokens = 32;
  std::vector<std::string> models = models::decoding_families();
  std::vector<std::string> runs;
  uint64_t seed = 0;
  std::string device = "cpu";
  RefinementArgs refine;
};

struct Bench {
  std::string name;
  std::shared_ptr<models::ModelImpl> model;
  models::RefineLimits limits;
};

std::vector<Bench> bench_models(const BenchGenerateArgs& a) {
  std::vector<Bench> out;
  const int64_t need = *std::max_element(a.prompt_lens.begin(), a.prompt_lens.end()) + a.new_tokens;
  const auto dev = parse_device(a.device);
  if (!a.runs.empty()) {
    for (const auto& run : a.runs) {
      InferenceArgs ia;
      ia.run = run;
      ia.device = a.device;
      ia.refine = a.refine;
      auto m = load_inference_model(ia);
      if (m.model->config().max_seq < need)
        throw std::invalid_argument("run '" + run + "' has max_seq " + std::to_string(m.model->config().max_seq) +
                                    ", fewer than the longest prompt plus --new-tokens (" + std::to_string(need) + ")");
      auto dir = std::filesystem::path(run).lexically_normal();
      if (dir.filename().empty()) dir = dir.parent_path();  // "runs/x/" names x
      out.push_back({m.model->config().family + ":" + dir.filename().string(), m.model, m.limits});
    }
    return out;
  }
  for (const auto& family : a.models) {
    auto mj = builtin_preset(family, "text").value_or(nlohmann::json::object()).value("model", nlohmann::json::object());
    mj["family"] = family;
    auto cfg = models::ModelConfig::from_json(mj, models::ModelConfig::preset(family));
    cfg.max_seq = std::max(cfg.max_seq, need);
    a.refine.limits.applied_to(cfg);  // refuses bad limits before any work
    torch::manual_seed(a.seed);
    auto model = models::make_model(cfg);
    model->to(dev);
    out.push_back({family, model, a.refine.limits});
  }
  return out;
}

nlohmann::json run_bench(const BenchGenerateArgs& a) {
  nlohmann::json rows = nlohmann::json::array();
  for (auto& b : bench_models(a)) {
    const int64_t V = b.model->config().vocab;
    auto o = infer::GenerateOptions().max_new_tokens(a.new_tokens).limits(b.limits);
    o.sampling().temperature(0);
    infer::generate(*b.model, {1, 2, 3, 4}, infer::GenerateOptions().max_new_tokens(4));  // warm-up
    for (int64_t P : a.prompt_lens) {
      torch::manual_seed(a.seed + uint64_t(P));
      auto t = torch::randint(0, V, {P}, torch::kInt64);
      std::vector<int64_t> prompt(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + P);
      for (bool cached : {true, false}) {
        auto r = infer::generate(*b.model, prompt, o.cached(cached));
        rows.push_back({{"model", b.name},
                        {"prompt_len", P},
                        {"mode", cached ? "cached" : "recompute"},
                        {"tokens_per_s", r.decode_tokens_per_s()},
                        {"solver_steps_mean", r.mean_decode_steps()}});
        std::fprintf(stderr, "bench generate: %-10s prompt %4lld  %-9s %9.1f tokens/s  %6.2f steps/token\n",
                     b.name.c_str(), (long long)P, cached ? "cached" : "recompute", r.decode_tokens_per_s(),
                     r.mean_decode_steps());
      }
    }
  }
  return {{"results", rows}};
}

void print_table(const nlohmann::json& out) {
  std::cout << fmt::format("{:<20} {:>6}  {:>14} {:>14}  {:>8}  {:>12} {:>12}\n", "model", "prompt", "cached tok/s",
                           "recompute tok/s", "speedup", "steps cached", "steps recomp");
  const auto& rows = out["results"];
  for (size_t i = 0; i + 1 < rows.size(); i += 2) {
    const auto &c = rows[i], &r = rows[i + 1];  // run_bench writes cached, then recompute
    const double sc = c["tokens_per_s"], sr = r["tokens_per_s"];
    std::cout << fmt::format("{:<20} {:>6}  {:>14.1f} {:>15.1f}  {:>7.1f}x  {:>12.2f} {:>12.2f}\n",
                             c["model"].get<std::string>(), c["prompt_len"].get<int64_t>(), sc, sr,
                             sr > 0 ? sc / sr : 0.0, c["solver_steps_mean"].get<double>(),
                             r["solver_steps_mean"].get<double>());
  }
}

}  // namespace

void register_bench_generate(CLI::App& bench) {
  auto a = std::make_shared<BenchGenerateArgs>();
  auto* cmd = bench.add_subcommand("generate", "Decoding tokens/s: KV-cached versus full recompute, per family");
  cmd->add_flag("--json", a->json, "Print exactly one JSON object on stdout");
  cmd->add_option("--prompt-lens", a->prompt_lens, "prompt lengths")
      ->capture_default_str()->delimiter(',')->check(CLI::PositiveNumber);
  cmd->add_option("--new-tokens", a->new_tokens, "tokens generated per measurement (>= 2)")
      ->capture_default_str()->check(CLI::Range(int64_t(2), int64_t(1) << 20));
  cmd->add_option("--models", a->models, "families with incremental decoding (random weights, CPU text preset sizes)")
      ->capture_default_str()->delimiter(',')
      ->check(CLI::IsMember(models::decoding_families()));
  cmd->add_option("--run", a->runs, "a trained run folder to bench instead (repeatable)");
  cmd->add_option("--seed", a->seed, "seed of the random weights and prompts")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:N")->capture_default_str();
  a->refine.add(cmd);
  cmd->callback([a] {
    auto out = run_bench(*a);
    print_result(out, a->json, print_table);
  });
}

}  // namespace eqt::cli
