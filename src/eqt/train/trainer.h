// eqt/train/trainer.h — the training loop for any family on any task.
//
// AdamW with warmup then cosine (or constant then linear) decay, gradient clipping and
// accumulation, fixed seeds. One log line per interval:
//   step | loss | grad norm | lr | ms/step | tok/s | solver steps mean/max | residual
// and the same as a JSON line in DIR/metrics.jsonl, plus a validation line ("val_loss",
// "val_token_accuracy", ...) every eval_every steps and at the end. With ema > 0 an
// exponential moving average of the weights is kept, saved as "ema.*" tensors, and it is
// what validation (and `eqt eval`) measures. A NaN or exploding loss stops the run
// with a message, leaving the last good checkpoint in place; Ctrl-C saves one and stops.
// Data parallel (given a Communicator): every rank draws the same global batch from the same
// generator and trains on its own rows of it (rank r of W: rows [B r / W, B (r+1) / W)); the
// loss is the shard's share of the global mean (summed cross-entropy / the global count of
// predicted tokens), so summing gradients over ranks (parallel::GradSync) gives exactly the
// single-process gradient, for any W and uneven shards. Rank 0 alone prints, validates and
// writes; the batch order does not depend on W, so a run resumes with any number of ranks.
// Device: the model's (move it before constructing the Trainer); batches follow it, and
// checkpoints hold CPU tensors, so a run resumes on any device. Precision bf16: the
// forward (and the solver's evaluations of f) under bfloat16 autocast, the loss, backward,
// optimizer and the solver's own arithmetic in float32.
// What it is not: a place that knows any family.
#pragma once

#include "eqt/data/task.h"
#include "eqt/models/model.h"
#include "eqt/parallel/grad_sync_options.h"
#include "eqt/train/checkpoint.h"
#include "eqt/train/loss.h"
#include "eqt/train/row_carry.h"
#include "eqt/train/step_metrics.h"
#include "eqt/train/weights.h"

#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace eqt::parallel {
class Communicator;
class GradSync;
}  // namespace eqt::parallel

namespace eqt::train {

class CollapseWatch;

struct TrainOptions {
  int64_t steps = 1000;
  int64_t batch = 64;
  int64_t accum = 1;  // micro-batches per optimizer step
  double lr = 1e-3;
  double min_lr_ratio = 0.1;
  int64_t warmup = 100;
  std::string schedule = "cosine";  // cosine | linear (constant, then linear decay over the last 20 %)
  double weight_decay = 0.01;
  double clip = 1.0;
  double explode = 1e3;  // stop when the loss exceeds this
  uint64_t seed = 0;
  int64_t log_every = 10;
  int64_t ckpt_every = 0;  // 0: only at the end
  double ema = 0.0;        // decay of the weights' exponential moving average (0: off)
  int64_t eval_every = 0;  // steps between validation lines (0: only at the end)
  int64_t eval_batches = 4;  // held-out batches per validation line (0: all)
  std::string precision = "fp32";  // fp32 | bf16 (autocast of the training forward, util/autocast.h)
  std::string loss = "ce";         // ce | stablemax (cross-entropy of s(x) = x + 1 or 1 / (1 - x), TRM)
  double beta1 = 0.9, beta2 = 0.999;  // AdamW's moment decays (TRM: 0.9, 0.95)
  // Deep supervision (issue 28): each example is trained for up to `supervision` optimizer
  // steps, its loop state carried (detached) from one to the next, and replaced by a fresh
  // example when it halts or has had them all (RowCarry). 1: off, training as before.
  int64_t supervision = 1;
  double halt_weight = 0.5;   // weight of the halting head's loss BCE(q_halt, whole answer right)
  double halt_explore = 0.1;  // probability that a row draws a least step count in 2..supervision
  // EqR's recipe (issue 29): a fresh example starts at the family's start + start_noise *
  // N(0, I), and every update adds path_noise * N(0, I); row b of optimizer step t draws
  // from a generator seeded by restart_seed(seed, t accum + micro, b, 0). 0: off.
  double start_noise = 0.0, path_noise = 0.0;

  template <class V>
  void visit(V& v) {
    v("steps", steps, "optimizer steps");
    v("batch", batch, "sequences per micro-batch");
    v("accum", accum, "micro-batches per optimizer step");
    v("lr", lr, "peak learning rate");
    v("min_lr_ratio", min_lr_ratio, "final learning rate / peak");
    v("warmup", warmup, "linear warmup steps");
    v("schedule", schedule, "cosine | linear");
    v("weight_decay", weight_decay, "AdamW weight decay");
    v("clip", clip, "gradient norm clip (0: off)");
    v("explode", explode, "stop when the loss exceeds this");
    v("seed", seed, "seed of initialisation and batch order");
    v("log_every", log_every, "steps between log lines");
    v("ckpt_every", ckpt_every, "steps between checkpoints (0: only at the end)");
    v("ema", ema, "EMA decay of the weights, used for validation and eval (0: off)");
    v("eval_every", eval_every, "steps between validation lines (0: only at the end)");
    v("eval_batches", eval_batches, "held-out batches per validation line (0: all)");
    v("precision", precision, "fp32 | bf16: the training forward under bfloat16 autocast (float32 weights)");
    v("loss", loss, "ce | stablemax (cross-entropy of s(x) = x + 1 for x >= 0, 1 / (1 - x) below)");
    v("beta1", beta1, "AdamW first-moment decay");
    v("beta2", beta2, "AdamW second-moment decay");
    v("supervision", supervision, "deep supervision: optimizer steps per example, the loop state carried between them (1: off)");
    v("halt_weight", halt_weight, "weight of the halting head's loss (models with halt.head)");
    v("halt_explore", halt_explore, "probability that a row must take a random least number of steps in 2..supervision");
    v("start_noise", start_noise, "a fresh example's loop starts at the family's start + start_noise * N(0, I) (EqR; 0: off)");
    v("path_noise", path_noise, "noise path_noise * N(0, I) after every loop update while training (EqR; looped, unrolled trm; 0: off)");
  }
  void validate() const;
};

double learning_rate(const TrainOptions& o, int64_t step);  // step is 0-based

struct TrainResult {
  int64_t step = 0;             // optimizer steps done in total
  std::vector<double> losses;   // per step of this run
  std::string stopped;          // empty, or why the run stopped early
};

class Trainer {
 public:
  // out_dir receives checkpoint.eqt and metrics.jsonl (created if missing). With comm, the
  // parameters are broadcast from rank 0 and gradients summed over ranks.
  Trainer(std::shared_ptr<models::ModelImpl> model, std::shared_ptr<data::Task> task, TrainOptions o,
          std::string out_dir, std::shared_ptr<parallel::Communicator> comm = nullptr,
          parallel::GradSyncOptions sync = {});
  ~Trainer();
  void resume(const Checkpoint& ck);  // continues from ck's step, optimizer and RNG states
  // Trains up to step `until` (default: options.steps) and saves a checkpoint there.
  TrainResult run(int64_t until = -1);
  std::string checkpoint_path() const { return out_dir_ + "/checkpoint.eqt"; }

 private:
  bool main_rank() const;
  void broadcast_parameters();
  void save(int64_t step);
  void update_ema();
  void validate_line(int64_t step, std::ofstream& metrics);
  // The training step, in the order run() calls them.
  StepMetrics forward_backward(CollapseWatch& watch);
  struct Halting {
    torch::Tensor keep;  // (B,) bool rows that stay for another supervision step (undefined: none)
    torch::Tensor loss;  // scalar halting loss (undefined: no halting head)
  };
  models::ForwardOptions carried_start(const RowCarry::Rows& rows, int64_t micro) const;
  Halting supervise(const models::ModelOutput& out, const torch::Tensor& targets, const RowCarry::Rows& rows,
                    StepMetrics& m);
  void synchronise(StepMetrics& m);
  std::optional<std::string> diverged(double loss) const;  // why the run must stop, if it must
  double clip_gradients();
  void log_step(int64_t done, double lr, const StepMetrics& m, std::ofstream& metrics);
  std::shared_ptr<models::ModelImpl> model_;
  std::shared_ptr<data::Task> task_;
  TrainOptions o_;
  std::string out_dir_;
  std::unique_ptr<torch::optim::AdamW> opt_;
  at::Generator gen_;
  int64_t step_ = 0;
  std::vector<torch::Tensor> ema_;  // per parameter, when o_.ema > 0
  std::shared_ptr<parallel::Communicator> comm_;
  std::unique_ptr<parallel::GradSync> sync_;
  RowCarry carry_;  // the rows of the batch and what they carry between steps
  struct Window {   // what the next log line averages over
    double ms = 0;
    int64_t tokens = 0, steps = 0;
    int64_t peak = 0;  // bytes: the most tensor memory live during a step of the window
  } window_;
  std::function<torch::Tensor()> radius_;  // the last micro-batch's Jacobian probe
};

// This rank's rows of a global batch: [B rank / world, B (rank + 1) / world).
data::Batch shard_of(const data::Batch& b, int rank, int world);


}  // namespace eqt::train
