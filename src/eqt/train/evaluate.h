// eqt/train/evaluate.h — held-out metrics of a model on a task, as one JSON object:
// task, model, params_total, loss, perplexity, bits_per_byte (loss / ln 2: per token, and
// for byte-level text per byte), token_accuracy, exact_accuracy (every target of a sequence
// right), solver_steps_mean, and breakdown, as the task asks: accuracy per position (for
// parity, position t is the parity of the first t + 1 bits: the breakdown per length), or
// token and exact accuracy per difficulty bucket (sudoku, maze), or none (text).
#pragma once

#include "eqt/data/task.h"
#include "eqt/models/model.h"

#include <nlohmann/json.hpp>

namespace eqt::train {

// Deep supervision at evaluation (issue 28): each batch runs up to `steps` supervision steps,
// each a forward started from the previous one's loop state; a row stops after `steps`
// (fixed), once its q_halt > 0 (learned: the halting head), or once its loop residual is
// below `tol` (converged: the convergence signal). Its last step's logits are scored, and
// halt_steps_mean / halt_steps_max report the steps the rows used. steps 1: one forward.
struct SupervisionEval {
  int64_t steps = 1;
  std::string halt = "fixed";  // fixed | learned | converged
  double tol = 1e-3;
  void validate() const;  // std::invalid_argument naming the bad value
};

// max_batches > 0 evaluates only the first max_batches held-out batches; opts: the
// refinement limits, start and solver of every forward (models::ForwardOptions).
nlohmann::json evaluate(models::ModelImpl& model, const data::Task& task, int64_t batch, int64_t max_batches = 0,
                        const models::ForwardOptions& opts = {}, const SupervisionEval& sup = {});

// The equilibrium-internalisation curve: evaluate() once per refinement cap ("max" keeps
// the trained setting, otherwise a whole number >= 0: ModelConfig::with_refinement_cap).
// Returns the last cap's metrics with every cap's under "by_solver_steps" (each with its
// "solver_steps_cap"); each cap is a per-call limit, the model's config never changes.
// Bad caps are std::invalid_argument naming the value.
nlohmann::json evaluate_by_caps(models::ModelImpl& model, const data::Task& task, const std::vector<std::string>& caps,
                                int64_t batch, int64_t max_batches = 0, const models::ForwardOptions& opts = {},
                                const SupervisionEval& sup = {});

}  // namespace eqt::train
