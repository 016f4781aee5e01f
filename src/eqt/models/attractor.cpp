// eqt/models/attractor.cpp — the Attractor Model (REFERENCE 2).
// The backbone proposes c (its un-normalised residual stream); the gated head refines
// y = f(y, c) = Head(y + c) - y from y0 = c (detached), so y* = c + Delta(y* + c) with Delta
// the head's summed residual increments. Decode RMSNorm(y*) with the tied embedding. With
// the iteration cap at 0 the proposal is decoded directly: RMSNorm(c) (internalised mode).
#include "eqt/models/families.h"

namespace eqt::models {

AttractorImpl::AttractorImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  embed_ = register_module("embed", TokenIO(cfg));
  backbone_ = register_module("backbone", nn::BlockStack(cfg.block_options(), cfg.n_layers));
  auto head = cfg.block_options();
  head.gates(true).gamma_max(cfg.gamma_max);
  head_ = register_module("head", nn::BlockStack(head, cfg.head_layers));
  init_weights();
}

ModelOutput AttractorImpl::forward(const torch::Tensor& tokens) {
  check_tokens(tokens);
  auto c = backbone_(embed_->embed(tokens));  // (B, T, C) proposal
  ModelOutput out;
  const int64_t cap = is_training() ? cfg_.train_max_iter : cfg_.eval_max_iter;
  if (cap == 0) {
    out.logits = embed_->logits(c);
    out.stats.steps = torch::zeros({c.size(0)}, torch::kFloat64);
    return out;
  }
  auto head = head_;
  solve::Map f = [head, c](const torch::Tensor& y) mutable { return head->forward(y + c) - y; };
  auto eq = grad::find_equilibrium(f, c.detach(), cfg_.solver_options(is_training()), cfg_.grad_options());
  out.logits = embed_->logits(eq.z);
  out.stats = stats_from(eq.forward);
  return out;
}

}  // namespace eqt::models
