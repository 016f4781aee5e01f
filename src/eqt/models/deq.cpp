// eqt/models/deq.cpp — the DEQ transformer: z* = f(z*) with f(z) = core(z + u) - z, u = W e,
// solved from z = 0 and decoded by the tied head; IFT / phantom / onestep gradients from
// eqt::grad, and the optional Jacobian regulariser jac_reg * mean_b ||J_b||_F^2 / D
// (Hutchinson, one vector). Subtracting z removes the identity that the residual stream of
// pre-norm blocks carries: core(z + u) alone has Jacobian I + dDelta, which no fixed-point
// iteration can contract; f = u + Delta(z + u) contracts when the block increments do
// (the same construction as the attractor head, docs/models.md). The injection is normalised,
// u = Norm(W e): pre-norm blocks scale their Jacobian by 1 / rms(z + u), and an injection
// of unit RMS keeps that factor near one (with u = W e at init, rms ~ 0.06, measured: plain
// iteration never converged and Anderson needed 120-300 iterations on the tiny test model).
#include "eqt/models/families.h"

namespace eqt::models {

DEQImpl::DEQImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  embed_ = register_module("embed", TokenIO(cfg));
  inject_ = register_module("inject", torch::nn::Linear(torch::nn::LinearOptions(cfg.d_model, cfg.d_model).bias(false)));
  inject_norm_ = register_module("inject_norm", nn::Norm(nn::NormOptions(cfg.d_model, cfg.norm)));
  core_ = register_module("core", nn::BlockStack(cfg.block_options(), cfg.deq_layers));
  init_weights();
}

ModelOutput DEQImpl::compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg) {
  auto u = inject_norm_(inject_(embed_->embed(tokens, positions_of(cache, tokens))));  // (B, T, C) injection
  ModelOutput out;
  const int64_t cap = is_training() ? cfg.train_max_iter : cfg.eval_max_iter;
  if (cap == 0) {  // no solve: decode f(0) = core(u), the first step of the iteration
    out.logits = embed_->logits(run_layer(core_, u, cache, "core"));
    return out;
  }
  // Incremental: the new positions only, attending to the cached core states of earlier
  // positions at their equilibria.
  auto [f, eq] = solve_residual(core_, u, cache ? cache->past("core") : nullptr, torch::zeros_like(u), cfg, is_training());
  if (cache) cache->extend(core_, "core", eq.forward.z + u);
  out.logits = embed_->logits(eq.z);
  out.stats = stats_from(eq, f);
  if (is_training() && cfg.jac_reg > 0) out.aux_loss = jacobian_penalty(f, eq.forward.z, cfg.jac_reg);
  return out;
}

}  // namespace eqt::models
