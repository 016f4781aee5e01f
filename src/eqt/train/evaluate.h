// eqt/train/evaluate.h — held-out metrics of a model on a task, as one JSON object:
// task, model, params_total, loss, perplexity, bits_per_byte (loss / ln 2: per token, and
// for byte-level text per byte), token_accuracy, exact_accuracy (every target of a sequence
// right), mean_solver_steps, and breakdown: accuracy per position (for parity, position t
// is the parity of the first t + 1 bits: the breakdown per length).
#pragma once

#include "eqt/data/task.h"
#include "eqt/models/model.h"

#include <nlohmann/json.hpp>

namespace eqt::train {

nlohmann::json evaluate(models::ModelImpl& model, const data::Task& task, int64_t batch);

}  // namespace eqt::train
