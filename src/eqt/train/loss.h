// eqt/train/loss.h — the training loss of any family: token cross-entropy plus the model's
// auxiliary loss (EqT's beta * E(h*), a Jacobian regulariser), shared by the trainer, the
// evaluator and `eqt bench train`, so that what is benchmarked is what is trained.
// What it is not: a metric (evaluate.h reports accuracies and bits per byte).
#pragma once

#include "eqt/models/model.h"

namespace eqt::train {

// Cross-entropy over the positions whose target is not kIgnore. logits (B, T, V), targets (B, T).
// `count`: divide the summed loss by this many tokens instead of by the batch's own count.
torch::Tensor token_loss(const torch::Tensor& logits, const torch::Tensor& targets, int64_t count = -1);

// token_loss(out.logits, targets, count) + share * out.aux_loss, where share is this batch's
// fraction of the global batch (1 in one process; the aux loss is a per-sample mean).
torch::Tensor training_loss(const models::ModelOutput& out, const torch::Tensor& targets, int64_t count = -1,
                            double share = 1.0);

}  // namespace eqt::train
