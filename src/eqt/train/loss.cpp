// eqt/train/loss.cpp — see loss.h.
#include "eqt/train/loss.h"

#include "eqt/data/task.h"
#include "eqt/util/autocast.h"

namespace eqt::train {

models::ModelOutput training_forward(models::ModelImpl& model, const torch::Tensor& tokens, const torch::Device& device,
                                     bool bf16, const models::ForwardOptions& opts) {
  models::ModelOutput out;
  {
    util::AutocastScope mixed(device.type(), bf16);
    out = model.forward(tokens.to(device), opts);
  }
  if (bf16) {  // the loss in float32
    out.logits = out.logits.to(torch::kFloat32);
    if (out.aux_loss.defined()) out.aux_loss = out.aux_loss.to(torch::kFloat32);
  }
  return out;
}

torch::Tensor token_loss(const torch::Tensor& logits, const torch::Tensor& targets, int64_t count) {
  namespace F = torch::nn::functional;
  auto o = F::CrossEntropyFuncOptions().ignore_index(data::kIgnore);
  if (count < 0) return F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}), o);
  auto sum = F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}), o.reduction(torch::kSum));
  return sum / double(std::max<int64_t>(count, 1));
}

torch::Tensor stablemax_loss(const torch::Tensor& logits, const torch::Tensor& targets, int64_t count) {
  auto x = logits.reshape({-1, logits.size(-1)}).to(torch::kFloat64);                   // (N, V)
  // Both branches are evaluated: 1 / (1 - x) on x clamped to <= 0, or at x = 1 its inf would
  // meet where()'s zero gradient as 0 * inf = NaN in the backward pass.
  auto s = torch::where(x >= 0, x + 1, 1 / (1 - x.clamp_max(0)));                        // (N, V) > 0
  auto logp = torch::log(s) - torch::log(s.sum(-1, /*keepdim=*/true));                   // (N, V)
  auto t = targets.reshape({-1});                                                         // (N,)
  auto valid = t.ne(data::kIgnore);
  auto picked = logp.gather(1, t.clamp_min(0).unsqueeze(1)).squeeze(1).masked_fill(~valid, 0.0);  // (N,)
  const double n = count < 0 ? double(std::max<int64_t>(valid.sum().item<int64_t>(), 1)) : double(std::max<int64_t>(count, 1));
  return (-picked.sum() / n).to(logits.scalar_type());
}

torch::Tensor training_loss(const models::ModelOutput& out, const torch::Tensor& targets, int64_t count, double share,
                            const std::string& kind) {
  auto loss = kind == "stablemax" ? stablemax_loss(out.logits, targets, count) : token_loss(out.logits, targets, count);
  if (out.aux_loss.defined()) loss = loss + out.aux_loss * share;
  return loss;
}

}  // namespace eqt::train
