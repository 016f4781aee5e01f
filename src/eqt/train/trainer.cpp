// eqt/train/trainer.cpp — see trainer.h.
#include "eqt/train/trainer.h"

#include "eqt/util/memory_meter.h"

#include "eqt/config/fields.h"
#include "eqt/models/family.h"
#include "eqt/train/collapse_watch.h"
#include "eqt/train/evaluate.h"
#include "eqt/train/metrics_file.h"
#include "eqt/train/restart_eval.h"
#include "eqt/util/choices.h"
#include "eqt/parallel/grad_sync.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
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
  if (loss != "ce" && loss != "stablemax") bad("loss", loss, "ce | stablemax");
  if (!(beta1 >= 0 && beta1 < 1)) bad("beta1", std::to_string(beta1), "a decay in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) bad("beta2", std::to_string(beta2), "a decay in [0, 1)");
  if (supervision < 1) bad("supervision", std::to_string(supervision), ">= 1 (1: off)");
  if (!(start_noise >= 0)) bad("start_noise", std::to_string(start_noise), ">= 0 (0: off)");
  if (!(path_noise >= 0)) bad("path_noise", std::to_string(path_noise), ">= 0 (0: off)");
  if (supervision > 1 && accum > 1)
    bad("supervision", std::to_string(supervision), "1 with accum > 1 (a carried row belongs to one micro-batch)");
  if (!(halt_weight >= 0)) bad("halt_weight", std::to_string(halt_weight), ">= 0");
  if (!(halt_explore >= 0 && halt_explore <= 1)) bad("halt_explore", std::to_string(halt_explore), "a probability in [0, 1]");
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
                 std::string out_dir, std::shared_ptr<parallel::Communicator> comm, parallel::GradSyncOptions sync)
    : model_(std::move(model)), task_(std::move(task)), o_(std::move(o)), out_dir_(std::move(out_dir)),
      gen_(at::make_generator<at::CPUGeneratorImpl>(o_.seed)), comm_(std::move(comm)) {
  o_.validate();
  if (comm_ && o_.batch < comm_->world())
    throw std::invalid_argument("train option batch = " + std::to_string(o_.batch) + " does not split over " +
                                std::to_string(comm_->world()) + " processes; expected a batch >= the process count");
  if (o_.supervision > 1 && comm_ && comm_->world() > 1)
    throw std::invalid_argument("train option supervision = " + std::to_string(o_.supervision) +
                                " is not supported with " + std::to_string(comm_->world()) +
                                " processes yet (the carried rows would have to be gathered across them); "
                                "expected 1, or one process");
  if (model_->config().family == "eqt" && model_->config().eqt.memory && comm_ && comm_->world() > 1)
    throw std::invalid_argument("model eqt.memory = true is not supported with " + std::to_string(comm_->world()) +
                                " processes yet (each process's memory bank would move with its own batch); "
                                "expected one process, or eqt.memory false");
  if (o_.supervision > 1 && !models::find_family(model_->config().family).has_state)
    throw std::invalid_argument("train option supervision = " + std::to_string(o_.supervision) + ": family '" +
                                model_->config().family + "' has no loop state to carry between supervision steps; "
                                "expected 1, or a family with one (" + util::choices(models::state_families()) + ")");
  if (o_.supervision > 1 && models::find_family(model_->config().family).has_solver &&
      model_->config().solver.train_max_iter == 0)
    throw std::invalid_argument("train option supervision = " + std::to_string(o_.supervision) +
                                " with solver.train_max_iter = 0: no solve runs, so there is no state to carry; "
                                "expected supervision 1 or a solve");
  if (main_rank()) std::filesystem::create_directories(out_dir_);
  if (comm_) {
    broadcast_parameters();
    sync_ = std::make_unique<parallel::GradSync>(model_->parameters(), comm_, sync);
  }
  opt_ = std::make_unique<torch::optim::AdamW>(
      model_->parameters(),
      torch::optim::AdamWOptions(o_.lr).weight_decay(o_.weight_decay).betas({o_.beta1, o_.beta2}));
  if (o_.ema > 0)
    for (const auto& p : model_->parameters()) ema_.push_back(p.detach().clone());
}

// Rank 0's values everywhere (one flat broadcast): ranks built the same model from the same
// seed, but nothing else would guarantee they start identical.
Trainer::~Trainer() = default;

bool Trainer::main_rank() const { return !comm_ || comm_->rank() == 0; }

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
    SupervisionEval sup;  // all `supervision` steps, as TRM evaluates
    sup.steps = o_.supervision;
    r = evaluate(*model_, *task_, o_.batch, o_.eval_batches, {}, sup);
  }
  std::printf("step %6lld | validation loss %.4f | token acc %.4f | exact %.4f | solver %.1f\n", (long long)step,
              r["loss"].get<double>(), r["token_accuracy"].get<double>(), r["exact_accuracy"].get<double>(),
              r["solver_steps_mean"].get<double>());
  std::fflush(stdout);
  metrics << nlohmann::json{{"step", step}, {"val_loss", r["loss"]}, {"val_token_accuracy", r["token_accuracy"]},
                            {"val_exact_accuracy", r["exact_accuracy"]}, {"val_solver_steps_mean", r["solver_steps_mean"]}}
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
  auto dst_buffers = model_->buffers();  // fixed state the checkpoint holds (trm's starts)
  auto src_buffers = ck.model->buffers();
  TORCH_CHECK(dst_buffers.size() == src_buffers.size(), "resume: buffer count differs");
  for (size_t i = 0; i < dst_buffers.size(); ++i) dst_buffers[i].copy_(src_buffers[i]);
  Checkpoint mine = ck;
  mine.model = model_;
  restore_optimizer(mine, *opt_);
  step_ = ck.meta.value("step", int64_t(0));
  if (ck.rng_train.defined()) gen_.set_state(ck.rng_train);
  carry_.restore(ck.carry, o_.batch, model_->parameters().front().device());  // deep supervision's rows
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
  save_checkpoint(checkpoint_path(), *model_, opt_.get(), meta, &gen_, ema_, carry_.snapshot());
}

double gradient_norm(const std::vector<torch::Tensor>& params) {
  // As torch::nn::utils::clip_grad_norm_ computes it: the 2-norm of the per-tensor 2-norms.
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().data().norm(2));
  if (norms.empty()) return 0.0;
  return (norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2)).item<double>();
}

// Deep supervision: the rows carried from the last step start from their state, the fresh
// ones from the family's start (RowCarry; nothing carried: the family's start for all).
// With start_noise or path_noise (EqR's recipe) every row of the global batch gets its seed,
// and this rank keeps its shard's (the rows shard_of keeps).
models::ForwardOptions Trainer::carried_start(const RowCarry::Rows& rows, int64_t micro) const {
  models::ForwardOptions o;
  const bool noisy = o_.start_noise > 0 || o_.path_noise > 0;
  if (noisy) {
    const int64_t B = rows.batch.tokens.size(0);
    const int rank = comm_ ? comm_->rank() : 0, world = comm_ ? comm_->world() : 1;
    for (int64_t b = B * rank / world; b < B * (rank + 1) / world; ++b)
      o.start.seeds.push_back(restart_seed(uint64_t(o_.seed), step_ * o_.accum + micro, b, 0));
    o.start.path_noise = o_.path_noise;
  }
  if (o_.start_noise > 0) {  // fresh rows at the family's start plus noise; carried rows from their state
    o.start.policy = models::StartState::Policy::Random;
    o.start.scale = o_.start_noise;
  }
  if (!rows.state.defined()) return o;
  if (o_.start_noise == 0) o.start.policy = models::StartState::Policy::Given;
  o.start.given = rows.state;
  o.start.given_rows = ~rows.fresh;
  return o;
}

// Deep supervision's bookkeeping for a micro-batch: which rows stay for another step, and
// the halting head's loss BCE(q_halt, the whole answer right). A row halts when it has had
// `supervision` steps or, with a halting head, when q_halt > 0 once it has had its least
// number of steps (0, or with probability halt_explore a draw from 2..supervision, TRM's
// exploration). With supervision 1 nothing is kept and nothing drawn: training as before.
Trainer::Halting Trainer::supervise(const models::ModelOutput& out, const torch::Tensor& targets,
                                    const RowCarry::Rows& rows, StepMetrics& m) {
  Halting h;
  if (o_.supervision <= 1) return h;
  const int64_t B = targets.size(0);
  torch::Tensor correct;  // (B,) bool: every target of the row right
  {
    torch::NoGradGuard ng;
    correct = (out.logits.argmax(-1).eq(targets) | targets.eq(data::kIgnore)).all(1);
  }
  if (out.q_halt.defined())
    h.loss = torch::binary_cross_entropy_with_logits(out.q_halt.to(torch::kFloat32),
                                                     correct.to(torch::kFloat32));  // mean over rows
  torch::NoGradGuard ng;
  auto steps = (rows.steps.defined() ? rows.steps : torch::zeros({B}, torch::kLong)) + 1;  // (B,) this one included
  auto halted = steps >= o_.supervision;
  if (out.q_halt.defined()) {
    auto explore = torch::rand({B}, gen_) < o_.halt_explore;                          // (B,)
    auto least = torch::where(explore, torch::randint(2, o_.supervision + 1, {B}, gen_, torch::kLong),
                              torch::zeros({B}, torch::kLong));                      // (B,)
    halted = halted | ((out.q_halt.detach().cpu() > 0) & (steps >= least));
  }
  h.keep = ~halted;
  m.add("train_exact", correct.to(torch::kFloat64).mean().item<double>());
  m.add("supervision_step_mean", steps.to(torch::kFloat64).mean().item<double>());
  m.add("halted", halted.to(torch::kFloat64).mean().item<double>());
  if (h.loss.defined()) m.add("halt_loss", h.loss.item<double>());
  return h;
}

// Micro-batches: batch -> forward -> loss -> backward, gradients accumulating. Figures are
// recorded as this rank's share of the global per-sample means.
StepMetrics Trainer::forward_backward(CollapseWatch& watch) {
  StepMetrics m;
  const torch::Device device = model_->parameters().front().device();
  const bool bf16 = o_.precision == "bf16";
  const int rank = comm_ ? comm_->rank() : 0, world = comm_ ? comm_->world() : 1;
  for (int64_t micro = 0; micro < o_.accum; ++micro) {
    const auto& rows = carry_.next(*task_, o_.batch, gen_);  // the same global rows on every rank
    const auto& global = rows.batch;
    if (micro == 0) watch.observe_targets(global.targets);
    const int64_t count = (global.targets != data::kIgnore).sum().item<int64_t>();
    auto batch = world > 1 ? shard_of(global, rank, world) : global;
    const double share = double(batch.tokens.size(0)) / double(o_.batch);  // of per-sample means
    auto out = training_forward(*model_, batch.tokens, device, bf16, carried_start(rows, micro));
    auto targets = batch.targets.to(device);
    auto loss = training_loss(out, targets, count, share, o_.loss);
    const auto halt = supervise(out, targets, rows, m);  // what stays for another step; the halting loss
    if (halt.loss.defined()) loss = loss + o_.halt_weight * share * halt.loss;
    if (sync_ && micro + 1 == o_.accum) sync_->arm();
    (loss / double(o_.accum)).backward();
    carry_.settle(halt.keep, halt.keep.defined() ? out.state : torch::Tensor());
    // share * x / accum: a micro-batch's part of the step's per-sample mean x.
    const double A = double(o_.accum);
    m.add("loss", loss.item<double>() / A);
    const auto& st = out.stats;
    const bool bwd = st.backward && st.backward->calls > 0;
    m.add("backward_steps", bwd ? share * double(st.backward->fevals) / A : 0.0);
    m.max("backward_residual", bwd ? st.backward->max_rel_res : 0.0);
    m.add("solver_steps_mean", st.steps.defined() ? share * st.steps.mean().item<double>() / A : 0.0);
    m.max("solver_steps_max", st.steps.defined() ? st.steps.max().item<double>() : 0.0);
    m.add("residual_mean", st.residual.defined() ? share * st.residual.mean().item<double>() / A : 0.0);
    window_.tokens += global.tokens.numel();
    radius_ = st.jacobian_radius;  // the last micro-batch's Jacobian probe (deq, attractor)
  }
  m.max("interrupted", g_interrupted ? 1.0 : 0.0);  // over ranks below: all stop at the same step
  return m;
}

// Data parallel: the gradients summed over ranks (GradSync), and the step's figures too, so
// every rank logs and stops (interrupted, diverged) at the same step.
void Trainer::synchronise(StepMetrics& m) {
  if (!sync_) return;
  comm_->mark_progress(step_ + 1);  // this rank's gradients of the step are ready
  sync_->finish();
  m.reduce(*comm_);
}

std::optional<std::string> Trainer::diverged(double loss) const {
  if (std::isfinite(loss) && loss <= o_.explode) return std::nullopt;
  const bool saved = std::filesystem::exists(checkpoint_path());
  return fmt::format("loss {} at step {} (limit {}); {}", loss, step_ + 1, o_.explode,
                     saved ? "the last good checkpoint is " + checkpoint_path()
                           : std::string("no checkpoint was written before it (lower --lr, or set "
                                         "train.ckpt_every to keep one)"));
}

// The gradient's norm before clipping (logged), clipped to o_.clip when set.
double Trainer::clip_gradients() {
  auto params = model_->parameters();
  return o_.clip > 0 ? torch::nn::utils::clip_grad_norm_(params, o_.clip) : gradient_norm(params);
}

// One line per log_every steps: the window's mean time and throughput, the step's figures.
void Trainer::log_step(int64_t done, double lr, const StepMetrics& m, std::ofstream& metrics) {
  // Every rank probes (its own generator, so no rank's draws change). It runs after the
  // optimizer step, outside the step's timing: the updated map at the step's equilibrium.
  double rho_mean = -1, rho_max = -1;
  if (radius_) {
    auto rho = radius_();  // (B,) of this rank's rows
    rho_mean = rho.mean().item<double>();
    rho_max = rho.max().item<double>();
  }
  if (!main_rank()) return;
  const double ms = window_.ms / double(window_.steps);  // the last window may be shorter
  const double tps = window_.tokens / (window_.ms / 1000.0);
  const double bwd_steps = m["backward_steps"], bwd_res = m["backward_residual"];
  std::string bwd = bwd_steps > 0 ? fmt::format(" | bwd {:.0f}/{:.1e}", bwd_steps, bwd_res) : "";
  if (rho_mean >= 0) bwd += fmt::format(" | rho {:.2f}/{:.2f}", rho_mean, rho_max);
  if (o_.supervision > 1)
    bwd += fmt::format(" | sup {:.1f} exact {:.2f} halted {:.2f}", m["supervision_step_mean"], m["train_exact"], m["halted"]);
  std::printf("step %6lld | loss %.4f | gnorm %.3f | lr %.2e | %7.1f ms | %8.0f tok/s | solver %.1f/%.0f | res %.1e%s\n",
              (long long)done, m["loss"], m["grad_norm"], lr, ms, tps, m["solver_steps_mean"], m["solver_steps_max"],
              m["residual_mean"], bwd.c_str());
  std::fflush(stdout);
  nlohmann::json line = {{"step", done}, {"loss", m["loss"]}, {"grad_norm", m["grad_norm"]}, {"lr", lr},
                         {"ms", ms}, {"tok_per_s", tps}, {"solver_steps_mean", m["solver_steps_mean"]},
                         {"solver_steps_max", m["solver_steps_max"]}, {"residual_mean", m["residual_mean"]}};
  if (bwd_steps > 0) {
    line["backward_steps"] = bwd_steps;
    line["backward_residual"] = bwd_res;
  }
  if (o_.supervision > 1)
    for (const char* k : {"supervision_step_mean", "train_exact", "halted", "halt_loss"})
      if (m.has(k)) line[k] = m[k];
  if (util::MemoryMeter::installed()) line["peak_mb"] = double(window_.peak) / 1048576.0;
  if (rho_mean >= 0) {
    line["jacobian_radius_mean"] = rho_mean;
    line["jacobian_radius_max"] = rho_max;
  }
  metrics << line.dump() << "\n";
  metrics.flush();
  window_ = {};
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
  auto old_handler = std::signal(SIGINT, on_sigint);
  g_interrupted = false;
  model_->train();
  window_ = {};
  const auto& cfg = model_->config();
  CollapseWatch watch(CollapseWatchOptions().cap(models::find_family(cfg.family).has_solver ? cfg.solver.train_max_iter : 0),
                      cfg.vocab);
  for (; step_ < last; ++step_) {
    const auto t0 = std::chrono::steady_clock::now();
    if (util::MemoryMeter::installed()) util::MemoryMeter::reset_peak();
    const double lr = learning_rate(o_, step_);
    for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    opt_->zero_grad();
    StepMetrics m = forward_backward(watch);  // batch -> forward -> loss -> backward
    synchronise(m);                           // gradients and figures over ranks
    if (auto why = diverged(m["loss"])) {
      res.stopped = *why;
      break;
    }
    m.set("grad_norm", clip_gradients());
    opt_->step();
    if (util::MemoryMeter::installed()) window_.peak = std::max(window_.peak, util::MemoryMeter::peak_bytes());
    if (!ema_.empty()) update_ema();
    res.losses.push_back(m["loss"]);
    for (const auto& msg : watch.update(step_ + 1, m["loss"], m["solver_steps_mean"], m["residual_mean"])) {
      if (!main_rank()) continue;
      std::printf("%s\n", msg.c_str());
      metrics << nlohmann::json{{"step", step_ + 1}, {"alert", msg}}.dump() << "\n";
    }
    window_.ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ++window_.steps;
    const int64_t done = step_ + 1;
    if (done % o_.log_every == 0 || done == last) log_step(done, lr, m, metrics);
    radius_ = nullptr;  // its closure holds the step's graph inputs: not into the next step
    if (main_rank() && ((o_.eval_every > 0 && done % o_.eval_every == 0) || done == o_.steps))
      validate_line(done, metrics);
    if (o_.ckpt_every > 0 && done % o_.ckpt_every == 0) save(done);
    if (m["interrupted"] > 0) {
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
