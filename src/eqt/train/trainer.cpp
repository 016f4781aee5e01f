// eqt/train/trainer.cpp — see trainer.h.
#include "eqt/train/trainer.h"

#include "eqt/util/memory_meter.h"

#include "eqt/config/fields.h"
#include "eqt/models/family.h"
#include "eqt/train/collapse_watch.h"
#include "eqt/train/evaluate.h"
#include "eqt/train/metrics_file.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace eqt::train {
namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

}  // namespace

void TrainOptions::validate() const {
  auto bad = [](const std::string& f, const std::string& v, const std::string& want) {
    throw std::invalid_argument("train option " + f + " = " + v + " is invalid; expected " + want);
  };
  if (steps < 1) bad("steps", std::to_string(steps), ">= 1");
  if (batch < 1) bad("batch", std::to_string(batch), ">= 1");
  if (accum < 1) bad("accum", std::to_string(accum), ">= 1");
  if (!(lr > 0)) bad("lr", std::to_string(lr), "> 0");
  if (warmup < 0) bad("warmup", std::to_string(warmup), ">= 0");
  if (schedule != "cosine" && schedule != "linear") bad("schedule", schedule, "cosine | linear");
  if (log_every < 1) bad("log_every", std::to_string(log_every), ">= 1");
  if (precision != "fp32" && precision != "bf16") bad("precision", precision, "fp32 or bf16");
  if (!(ema >= 0 && ema < 1)) bad("ema", std::to_string(ema), "0 (off) or a decay in (0, 1)");
  if (eval_every < 0) bad("eval_every", std::to_string(eval_every), ">= 0");
  if (eval_batches < 0) bad("eval_batches", std::to_string(eval_batches), ">= 0");
}

double learning_rate(const TrainOptions& o, int64_t step) {
  if (step < o.warmup) return o.lr * double(step + 1) / double(o.warmup);
  const double lo = o.lr * o.min_lr_ratio;
  const double span = std::max<int64_t>(1, o.steps - o.warmup);
  const double p = std::min(1.0, double(step - o.warmup) / span);
  if (o.schedule == "cosine") return lo + 0.5 * (o.lr - lo) * (1 + std::cos(M_PI * p));
  return p < 0.8 ? o.lr : o.lr - (o.lr - lo) * (p - 0.8) / 0.2;  // constant, then linear decay
}

data::Batch shard_of(const data::Batch& b, int rank, int world) {
  const int64_t B = b.tokens.size(0);
  TORCH_CHECK(B >= world, "shard_of: batch ", B, " is smaller than the world ", world);
  const int64_t lo = B * rank / world, hi = B * (rank + 1) / world;
  data::Batch s{b.tokens.slice(0, lo, hi), b.targets.slice(0, lo, hi), {}};
  if (b.bucket.defined()) s.bucket = b.bucket.slice(0, lo, hi);
  return s;
}

Trainer::Trainer(std::shared_ptr<models::ModelImpl> model, std::shared_ptr<data::Task> task, TrainOptions o,
                 std::string out_dir, std::shared_ptr<dist::Communicator> comm, dist::GradSyncOptions sync)
    : model_(std::move(model)), task_(std::move(task)), o_(std::move(o)), out_dir_(std::move(out_dir)),
      gen_(at::make_generator<at::CPUGeneratorImpl>(o_.seed)), comm_(std::move(comm)) {
  o_.validate();
  if (comm_ && o_.batch < comm_->world())
    throw std::invalid_argument("train option batch = " + std::to_string(o_.batch) + " does not split over " +
                                std::to_string(comm_->world()) + " processes; expected a batch >= the process count");
  if (main_rank()) std::filesystem::create_directories(out_dir_);
  if (comm_) {
    broadcast_parameters();
    sync_ = std::make_unique<dist::GradSync>(model_->parameters(), comm_, sync);
  }
  opt_ = std::make_unique<torch::optim::AdamW>(
      model_->parameters(), torch::optim::AdamWOptions(o_.lr).weight_decay(o_.weight_decay));
  if (o_.ema > 0)
    for (const auto& p : model_->parameters()) ema_.push_back(p.detach().clone());
}

// Rank 0's values everywhere (one flat broadcast): ranks built the same model from the same
// seed, but nothing else would guarantee they start identical.
void Trainer::broadcast_parameters() {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> flat;
  auto params = model_->parameters();
  for (const auto& p : params) flat.push_back(p.detach().reshape(-1));
  auto all = torch::cat(flat);  // (sum of numel,)
  comm_->broadcast(all, 0);
  int64_t off = 0;
  for (auto& p : params) {
    p.copy_(all.narrow(0, off, p.numel()).view_as(p));
    off += p.numel();
  }
}

void Trainer::update_ema() {
  torch::NoGradGuard ng;
  auto params = model_->parameters();
  for (size_t i = 0; i < ema_.size(); ++i) ema_[i].mul_(o_.ema).add_(params[i].detach(), 1 - o_.ema);
}

void Trainer::validate_line(int64_t step, std::ofstream& metrics) {
  nlohmann::json r;
  {
    ScopedWeights ema(*model_, ema_);
    r = evaluate(*model_, *task_, o_.batch, o_.eval_batches);
  }
  std::printf("step %6lld | validation loss %.4f | token acc %.4f | exact %.4f | solver %.1f\n", (long long)step,
              r["loss"].get<double>(), r["token_accuracy"].get<double>(), r["exact_accuracy"].get<double>(),
              r["mean_solver_steps"].get<double>());
  std::fflush(stdout);
  metrics << nlohmann::json{{"step", step}, {"val_loss", r["loss"]}, {"val_token_accuracy", r["token_accuracy"]},
                            {"val_exact_accuracy", r["exact_accuracy"]}, {"val_solver_steps", r["mean_solver_steps"]}}
                 .dump()
          << "\n";
  metrics.flush();
}

void Trainer::resume(const Checkpoint& ck) {
  torch::NoGradGuard ng;
  auto dst = model_->parameters();
  auto src = ck.model->parameters();
  TORCH_CHECK(dst.size() == src.size(), "resume: parameter count differs");
  for (size_t i = 0; i < dst.size(); ++i) dst[i].copy_(src[i]);
  Checkpoint mine = ck;
  mine.model = model_;
  restore_optimizer(mine, *opt_);
  step_ = ck.meta.value("step", int64_t(0));
  if (ck.rng_train.defined()) gen_.set_state(ck.rng_train);
  if (o_.ema > 0 && !ck.ema.empty()) {
    TORCH_CHECK(ck.ema.size() == ema_.size(), "resume: EMA size differs");
    for (size_t i = 0; i < ema_.size(); ++i) ema_[i] = ck.ema[i].to(ema_[i].device(), false, /*copy=*/true);
  }
  if (ck.rng_global.defined()) {
    at::Generator global = at::detail::getDefaultCPUGenerator();  // shares the default's state
    global.set_state(ck.rng_global);
  }
  if (comm_) broadcast_parameters();
}

void Trainer::save(int64_t step) {
  if (!main_rank()) return;
  nlohmann::json meta = {{"step", step}, {"task", task_->options()}, {"train", config::to_json(o_)}};
  meta["task"]["name"] = task_->name();
  save_checkpoint(checkpoint_path(), *model_, opt_.get(), meta, &gen_, ema_);
}

TrainResult Trainer::run(int64_t until) {
  TrainResult res;
  const int64_t last = until < 0 ? o_.steps : std::min(until, o_.steps);
  std::ofstream metrics;
  if (main_rank()) {
    const auto path = out_dir_ + "/metrics.jsonl";
    // Lines past the step we (re)start from were written by a run killed after its last
    // checkpoint; they are written again below.
    trim_metrics_after(path, step_);
    metrics.open(path, std::ios::app);
  }
  const int rank = comm_ ? comm_->rank() : 0, world = comm_ ? comm_->world() : 1;
  auto old_handler = std::signal(SIGINT, on_sigint);
  g_interrupted = false;
  model_->train();
  double window_ms = 0;
  int64_t window_tokens = 0, window_steps = 0;
  int64_t window_peak = 0;  // bytes: the most tensor memory live during a step of the window
  const bool metered = util::MemoryMeter::installed();
  const auto& cfg = model_->config();
  const torch::Device device = model_->parameters().front().device();
  const bool bf16 = o_.precision == "bf16";
  CollapseWatch watch(CollapseWatchOptions().cap(models::find_family(cfg.family).has_solver ? cfg.train_max_iter : 0),
                      cfg.vocab);
  for (; step_ < last; ++step_) {
    auto t0 = std::chrono::steady_clock::now();
    if (metered) util::MemoryMeter::reset_peak();
    const double lr = learning_rate(o_, step_);
    for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    opt_->zero_grad();
    double loss_sum = 0, steps_mean = 0, steps_max = 0, res_mean = 0;
    double bwd_steps = 0, bwd_res = 0;  // the backward (IFT / one-step) solve: VJPs, worst residual
    std::function<torch::Tensor()> radius;  // the last micro-batch's Jacobian probe (deq, attractor)
    for (int64_t m = 0; m < o_.accum; ++m) {
      auto global = task_->train_batch(o_.batch, gen_);  // the same on every rank
      if (m == 0) watch.observe_targets(global.targets);
      const int64_t count = (global.targets != data::kIgnore).sum().item<int64_t>();
      auto batch = world > 1 ? shard_of(global, rank, world) : global;
      const double share = double(batch.tokens.size(0)) / double(o_.batch);  // of per-sample means
      auto out = training_forward(*model_, batch.tokens, device, bf16);
      auto loss = training_loss(out, batch.targets.to(device), count, share);
      if (sync_ && m + 1 == o_.accum) sync_->arm();
      (loss / double(o_.accum)).backward();
      loss_sum += loss.item<double>() / double(o_.accum);
      radius = out.stats.jacobian_radius;
      if (const auto& bs = out.stats.backward; bs && bs->calls > 0) {
        bwd_steps += share * double(bs->fevals) / double(o_.accum);
        bwd_res = std::max(bwd_res, bs->max_rel_res);
      }
      window_tokens += global.tokens.numel();
      if (out.stats.steps.defined()) {
        steps_mean += share * out.stats.steps.mean().item<double>() / double(o_.accum);
        steps_max = std::max(steps_max, out.stats.steps.max().item<double>());
      }
      if (out.stats.residual.defined())
        res_mean += share * out.stats.residual.mean().item<double>() / double(o_.accum);
    }
    bool interrupted = g_interrupted;
    if (sync_) {
      comm_->mark_progress(step_ + 1);  // this rank's gradients of the step are ready
      sync_->finish();
      // The step's figures over all ranks, and whether any rank was interrupted, so that all
      // stop at the same step.
      auto sums = torch::tensor({loss_sum, steps_mean, res_mean, bwd_steps}, torch::kDouble);  // (4,)
      auto maxes = torch::tensor({steps_max, interrupted ? 1.0 : 0.0, bwd_res}, torch::kDouble);  // (3,)
      comm_->allreduce(sums, dist::Reduce::Sum);
      comm_->allreduce(maxes, dist::Reduce::Max);
      loss_sum = sums[0].item<double>();
      steps_mean = sums[1].item<double>();
      res_mean = sums[2].item<double>();
      bwd_steps = sums[3].item<double>();
      steps_max = maxes[0].item<double>();
      bwd_res = maxes[2].item<double>();
      interrupted = maxes[1].item<double>() > 0;
    }
    if (!std::isfinite(loss_sum) || loss_sum > o_.explode) {
      const bool saved = std::filesystem::exists(checkpoint_path());
      res.stopped = fmt::format("loss {} at step {} (limit {}); {}", loss_sum, step_ + 1, o_.explode,
                                saved ? "the last good checkpoint is " + checkpoint_path()
                                      : std::string("no checkpoint was written before it (lower --lr, or set "
                                                    "train.ckpt_every to keep one)"));
      break;
    }
    double gnorm = o_.clip > 0 ? torch::nn::utils::clip_grad_norm_(model_->parameters(), o_.clip)
                               : torch::nn::utils::clip_grad_norm_(model_->parameters(), 1e30);
    opt_->step();
    if (metered) window_peak = std::max(window_peak, util::MemoryMeter::peak_bytes());
    if (!ema_.empty()) update_ema();
    res.losses.push_back(loss_sum);
    for (const auto& msg : watch.update(step_ + 1, loss_sum, steps_mean, res_mean)) {
      if (!main_rank()) continue;
      std::printf("%s\n", msg.c_str());
      metrics << nlohmann::json{{"step", step_ + 1}, {"alert", msg}}.dump() << "\n";
    }
    window_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ++window_steps;
    const int64_t done = step_ + 1;
    const bool log_line = done % o_.log_every == 0 || done == last;
    // Every rank probes (its own generator, so no rank's draws change). It runs after the
    // optimizer step, outside the step's timing: the updated map at the step's equilibrium.
    double rho_mean = -1, rho_max = -1;
    if (log_line && radius) {
      auto rho = radius();  // (B,) of this rank's rows
      rho_mean = rho.mean().item<double>();
      rho_max = rho.max().item<double>();
    }
    if (main_rank() && log_line) {
      const double ms = window_ms / double(window_steps);  // the last window may be shorter
      const double tps = window_tokens / (window_ms / 1000.0);
      std::string bwd = bwd_steps > 0 ? fmt::format(" | bwd {:.0f}/{:.1e}", bwd_steps, bwd_res) : "";
      if (rho_mean >= 0) bwd += fmt::format(" | rho {:.2f}/{:.2f}", rho_mean, rho_max);
      std::printf("step %6lld | loss %.4f | gnorm %.3f | lr %.2e | %7.1f ms | %8.0f tok/s | solver %.1f/%.0f | res %.1e%s\n",
                  (long long)done, loss_sum, gnorm, lr, ms, tps, steps_mean, steps_max, res_mean, bwd.c_str());
      std::fflush(stdout);
      nlohmann::json line = {{"step", done}, {"loss", loss_sum}, {"grad_norm", gnorm}, {"lr", lr},
                             {"ms", ms}, {"tok_per_s", tps}, {"solver_steps_mean", steps_mean},
                             {"solver_steps_max", steps_max}, {"residual_mean", res_mean}};
      if (bwd_steps > 0) {
        line["backward_steps"] = bwd_steps;
        line["backward_residual"] = bwd_res;
      }
      if (metered) line["peak_mb"] = double(window_peak) / 1048576.0;
      if (rho_mean >= 0) {
        line["jacobian_radius_mean"] = rho_mean;
        line["jacobian_radius_max"] = rho_max;
      }
      metrics << line.dump() << "\n";
      metrics.flush();
      window_ms = 0;
      window_tokens = window_steps = 0;
      window_peak = 0;
    }
    if (main_rank() && ((o_.eval_every > 0 && done % o_.eval_every == 0) || done == o_.steps))
      validate_line(done, metrics);
    if (o_.ckpt_every > 0 && done % o_.ckpt_every == 0) save(done);
    if (interrupted) {
      save(done);
      res.stopped = fmt::format("interrupted at step {}; checkpoint saved to {}", done, checkpoint_path());
      ++step_;
      break;
    }
  }
  if (res.stopped.empty()) save(step_);
  std::signal(SIGINT, old_handler);
  res.step = step_;
  return res;
}

}  // namespace eqt::train
