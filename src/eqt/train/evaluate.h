// eqt/train/evaluate.h — held-out metrics of a model on a task, as one JSON object:
// task, model, params_total, loss, perplexity, bits_per_byte (loss / ln 2: per token, and
// for byte-level text per byte), token_accuracy, exact_accuracy (every target of a sequence
// right), mean_solver_steps, and breakdown, as the task asks: accuracy per position (for
// parity, position t is the parity of the first t + 1 bits: the breakdown per length), or
// token and exact accuracy per difficulty bucket (sudoku, maze), or none (text).
#pragma once

#include "eqt/data/task.h"
#include "eqt/models/model.h"

#include <nlohmann/json.hpp>

namespace eqt::train {

// max_batches > 0 evaluates only the first max_batches held-out batches; limits: the
// refinement of every forward (models::RefineLimits).
nlohmann::json evaluate(models::ModelImpl& model, const data::Task& task, int64_t batch, int64_t max_batches = 0,
                        const models::RefineLimits& limits = {});

// The equilibrium-internalisation curve: evaluate() once per refinement cap ("max" keeps
// the trained setting, otherwise a whole number >= 0: ModelConfig::with_refinement_cap).
// Returns the last cap's metrics with every cap's under "by_solver_steps" (each with its
// "solver_steps_cap"); each cap is a per-call limit, the model's config never changes.
// Bad caps are std::invalid_argument naming the value.
nlohmann::json evaluate_by_caps(models::ModelImpl& model, const data::Task& task, const std::vector<std::string>& caps,
                                int64_t batch, int64_t max_batches = 0);

}  // namespace eqt::train
