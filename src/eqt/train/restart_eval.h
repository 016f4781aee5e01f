// eqt/train/restart_eval.h — test-time compute ranked by convergence (issue 29): every
// held-out puzzle run from B starting states (restarts) to depth D, as rows of one batch.
//
// Depth: supervision steps, each a forward started from the previous one's loop state (what
// deep supervision trains; evaluate.h). What one step is depends on the family: looped, K more
// core iterations; trm, T more outer cycles; deq and attractor, one more solve from the last
// fixed point. Restart r of puzzle p starts from the family's start plus
// start_noise * N(0, I) (restart 0 exactly at the family's start), and with path_noise > 0
// every update adds path_noise * N(0, I) (looped, unrolled trm: EqR's noisy path; the
// solver families refuse it). Every draw of a row comes from its own generator seeded by
// restart_seed(seed, puzzle, restart, step), and with more than one restart the solver
// freezes converged rows (solver.freeze), so a row's numbers do not depend on the batch.
//
// Scored at each depth in `depths` and each breadth b in `breadths` (restarts 0..b-1):
// restart 0 alone; the restart with the lowest latent residual (the loop's own relative
// change, RefineStats::residual) and the one with the lowest logit change (EqR: mean over
// the last <= 3 supervision steps and the scored cells of ||logits_t - logits_t-1||_2);
// the majority vote (whole answers); pass@b (any restart exactly right) and the oracle's
// token accuracy (the restart with most cells right). Confidence (restart 0): per answer the
// residual, the logit change, the halting head's q and the lowest max-probability of a cell,
// and per cell the state change, the logit change and the max-probability; each as an AUROC
// for "right" and an accuracy-vs-coverage curve. Halting, priced on restart 0's trajectory:
// exact and token accuracy against mean function evaluations (loop steps summed over the
// steps taken) for fixed depth 1..D, stopping once the residual or the logit change is below
// a threshold (its quantiles over the run), and the learned head (q > 0).
// What it is not: the plain evaluation (evaluate.h; B = 1 without noise gives its numbers).
#pragma once

#include "eqt/data/task.h"
#include "eqt/models/model.h"

#include <nlohmann/json.hpp>

namespace eqt::train {

struct RestartEval {
  std::vector<int64_t> depths = {1};    // supervision steps scored, ascending; the run goes to the last
  std::vector<int64_t> breadths = {1};  // restarts scored, ascending; the run makes the last per puzzle
  double start_noise = 1.0;             // restart r > 0: the family's start + start_noise * N(0, I)
  double path_noise = 0.0;              // + path_noise * N(0, I) after every update (every restart)
  uint64_t seed = 0;
  int64_t coverage_points = 20;
  bool keep_rows = false;  // add "rows": every (depth, puzzle, restart)'s answer and signals
  void validate() const;   // std::invalid_argument naming the bad value
};

// The generator seed of row (puzzle, restart) at supervision step `step` (0-based): a
// splitmix64 mix, so neighbouring puzzles and restarts get unrelated streams.
uint64_t restart_seed(uint64_t seed, int64_t puzzle, int64_t restart, int64_t step);

// P puzzles x R restarts as rows p R + r of one batch (puzzle index p0 + p), what
// evaluate_restarts and the Python module's model(..., depth, restarts) both run: the
// forward options of each supervision step (0-based) over `base` (its limits and solver).
// With R > 1 the solver freezes converged rows and restart r > 0 starts at the family's start
// plus start_noise x N(0, I); with R > 1 or path noise every row draws from
// restart_seed(seed, p0 + p, r, step).
struct RestartRows {
  int64_t puzzles = 1, restarts = 1, first_puzzle = 0;
  double start_noise = 1.0, path_noise = 0.0;
  uint64_t seed = 0;
  bool noisy() const { return restarts > 1 || path_noise > 0; }
  std::vector<uint64_t> seeds(int64_t step) const;  // one per row
  // Step 0: from the family's start (restart 0) or near it; a later step: from `state`, the
  // previous step's loop state (std::invalid_argument naming the family when it is undefined).
  models::ForwardOptions step(const models::ModelImpl& model, const models::ForwardOptions& base, int64_t step,
                              const torch::Tensor& state = {}) const;
};

// max_batches > 0: only the first max_batches held-out batches (of `batch` puzzles each; a
// batch runs batch x breadths.back() rows). opts: the limits and solver of every forward (its
// start must be the default: the restarts set it).
nlohmann::json evaluate_restarts(models::ModelImpl& model, const data::Task& task, int64_t batch,
                                 int64_t max_batches, const models::ForwardOptions& opts, const RestartEval& re);

}  // namespace eqt::train
