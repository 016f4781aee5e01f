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

// The model's forward on tokens moved to `device`, under bfloat16 autocast when bf16 (the
// solver's own arithmetic stays in full precision, util/autocast.h), with the logits and the
// auxiliary loss returned in float32 so that the loss is computed in it.
models::ModelOutput training_forward(models::ModelImpl& model, const torch::Tensor& tokens, const torch::Device& device,
                                     bool bf16, const models::ForwardOptions& opts = {});

// token_loss(out.logits, targets, count) + share * out.aux_loss, where share is this batch's
// fraction of the global batch (1 in one process; the aux loss is a per-sample mean).
// kind: "ce" (token_loss) or "stablemax" (stablemax_loss).
torch::Tensor training_loss(const models::ModelOutput& out, const torch::Tensor& targets, int64_t count = -1,
                            double share = 1.0, const std::string& kind = "ce");

// Cross-entropy of the stablemax distribution p_i = s(x_i) / sum_j s(x_j), s(x) = x + 1 for
// x >= 0 and 1 / (1 - x) below (TRM's loss: it grows linearly, not exponentially, so large
// logits do not saturate it), in float64; targets kIgnore are skipped; sum / count (count < 0:
// the number of counted targets).
torch::Tensor stablemax_loss(const torch::Tensor& logits, const torch::Tensor& targets, int64_t count = -1);

}  // namespace eqt::train
