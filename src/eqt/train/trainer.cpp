// eqt/train/trainer.cpp — see trainer.h.
#include "eqt/train/trainer.h"

#include "eqt/config/fields.h"
#include "eqt/train/evaluate.h"

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

torch::Tensor token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(data::kIgnore));
}

Trainer::Trainer(std::shared_ptr<models::ModelImpl> model, std::shared_ptr<data::Task> task, TrainOptions o,
                 std::string out_dir)
    : model_(std::move(model)), task_(std::move(task)), o_(std::move(o)), out_dir_(std::move(out_dir)),
      gen_(at::make_generator<at::CPUGeneratorImpl>(o_.seed)) {
  o_.validate();
  std::filesystem::create_directories(out_dir_);
  opt_ = std::make_unique<torch::optim::AdamW>(
      model_->parameters(), torch::optim::AdamWOptions(o_.lr).weight_decay(o_.weight_decay));
  if (o_.ema > 0)
    for (const auto& p : model_->parameters()) ema_.push_back(p.detach().clone());
}

void swap_parameters(models::ModelImpl& model, std::vector<torch::Tensor>& a) {
  torch::NoGradGuard ng;
  auto params = model.parameters();
  TORCH_CHECK(a.size() == params.size(), "swap_parameters: ", a.size(), " tensors for ", params.size(), " parameters");
  for (size_t i = 0; i < a.size(); ++i) {
    auto raw = params[i].detach().clone();
    params[i].copy_(a[i]);
    a[i] = raw;
  }
}

void Trainer::update_ema() {
  torch::NoGradGuard ng;
  auto params = model_->parameters();
  for (size_t i = 0; i < ema_.size(); ++i) ema_[i].mul_(o_.ema).add_(params[i].detach(), 1 - o_.ema);
}

void Trainer::validate_line(int64_t step, std::ofstream& metrics) {
  if (!ema_.empty()) swap_parameters(*model_, ema_);
  auto r = evaluate(*model_, *task_, o_.batch, o_.eval_batches);
  if (!ema_.empty()) swap_parameters(*model_, ema_);
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
    for (size_t i = 0; i < ema_.size(); ++i) ema_[i] = ck.ema[i].clone();
  }
  if (ck.rng_global.defined()) {
    at::Generator global = at::detail::getDefaultCPUGenerator();  // shares the default's state
    global.set_state(ck.rng_global);
  }
}

void Trainer::save(int64_t step) {
  nlohmann::json meta = {{"step", step}, {"task", task_->options()}, {"train", config::to_json(o_)}};
  meta["task"]["name"] = task_->name();
  save_checkpoint(checkpoint_path(), *model_, opt_.get(), meta, &gen_, ema_);
}

TrainResult Trainer::run(int64_t until) {
  TrainResult res;
  const int64_t last = until < 0 ? o_.steps : std::min(until, o_.steps);
  std::ofstream metrics(out_dir_ + "/metrics.jsonl", std::ios::app);
  auto old_handler = std::signal(SIGINT, on_sigint);
  g_interrupted = false;
  model_->train();
  double window_ms = 0;
  int64_t window_tokens = 0, window_steps = 0;
  for (; step_ < last; ++step_) {
    auto t0 = std::chrono::steady_clock::now();
    const double lr = learning_rate(o_, step_);
    for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    opt_->zero_grad();
    double loss_sum = 0, steps_mean = 0, steps_max = 0, res_mean = 0;
    for (int64_t m = 0; m < o_.accum; ++m) {
      auto batch = task_->train_batch(o_.batch, gen_);
      auto out = model_->forward(batch.tokens);
      auto loss = token_loss(out.logits, batch.targets);
      if (out.aux_loss.defined()) loss = loss + out.aux_loss;
      (loss / double(o_.accum)).backward();
      loss_sum += loss.item<double>() / double(o_.accum);
      window_tokens += batch.tokens.numel();
      if (out.stats.steps.defined()) {
        steps_mean += out.stats.steps.mean().item<double>() / double(o_.accum);
        steps_max = std::max(steps_max, out.stats.steps.max().item<double>());
      }
      if (out.stats.residual.defined()) res_mean += out.stats.residual.mean().item<double>() / double(o_.accum);
    }
    if (!std::isfinite(loss_sum) || loss_sum > o_.explode) {
      res.stopped = fmt::format("loss {} at step {} (limit {}); the last good checkpoint is {}", loss_sum, step_ + 1,
                                o_.explode, checkpoint_path());
      break;
    }
    double gnorm = o_.clip > 0 ? torch::nn::utils::clip_grad_norm_(model_->parameters(), o_.clip)
                               : torch::nn::utils::clip_grad_norm_(model_->parameters(), 1e30);
    opt_->step();
    if (!ema_.empty()) update_ema();
    res.losses.push_back(loss_sum);
    window_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ++window_steps;
    const int64_t done = step_ + 1;
    if (done % o_.log_every == 0 || done == last) {
      const double ms = window_ms / double(window_steps);  // the last window may be shorter
      const double tps = window_tokens / (window_ms / 1000.0);
      std::printf("step %6lld | loss %.4f | gnorm %.3f | lr %.2e | %7.1f ms | %8.0f tok/s | solver %.1f/%.0f | res %.1e\n",
                  (long long)done, loss_sum, gnorm, lr, ms, tps, steps_mean, steps_max, res_mean);
      std::fflush(stdout);
      metrics << nlohmann::json{{"step", done}, {"loss", loss_sum}, {"grad_norm", gnorm}, {"lr", lr},
                                {"ms", ms}, {"tok_per_s", tps}, {"solver_steps_mean", steps_mean},
                                {"solver_steps_max", steps_max}, {"residual_mean", res_mean}}
                     .dump()
              << "\n";
      metrics.flush();
      window_ms = 0;
      window_tokens = window_steps = 0;
    }
    if ((o_.eval_every > 0 && done % o_.eval_every == 0) || done == o_.steps) validate_line(done, metrics);
    if (o_.ckpt_every > 0 && done % o_.ckpt_every == 0) save(done);
    if (g_interrupted) {
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
