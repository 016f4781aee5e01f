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
  inject_ = register_module("inject", torch::nn::Linear(torch::nn::LinearOptions(cfg.block.d_model, cfg.block.d_model).bias(false)));
  inject_norm_ = register_module("inject_norm", nn::Norm(nn::NormOptions(cfg.block.d_model, cfg.block.norm)));
  core_ = register_module("core", nn::BlockStack(cfg.block_options(), cfg.deq.layers));
  init_weights();
}

ModelOutput DEQImpl::compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                                const StartState& start) {
  check_start(start, "deq", /*can_start=*/true, /*can_noise=*/false);
  auto u = inject_norm_(inject_(embed_->embed(tokens, positions_of(cache, tokens))));  // (B, T, C) injection
  ModelOutput out;
  const int64_t cap = is_training() ? cfg.solver.train_max_iter : cfg.solver.eval_max_iter;
  if (cap == 0) {  // no solve: decode f(0) = core(u), the first step of the iteration
    out.logits = embed_->logits(run_layer(core_, u, cache, "core"));
    return out;
  }
  // Incremental: the new positions only, attending to the cached core states of earlier
  // positions at their equilibria.
  RowNoise noise(start.seeds);
  auto z0 = start_from(start, torch::zeros_like(u), &noise, "deq");  // (B, T, C)
  auto [f, eq] = solve_residual(core_, u, cache ? cache->past("core") : nullptr, z0, cfg, is_training());
  if (cache) cache->extend(core_, "core", eq.forward.z + u);
  out.logits = embed_->logits(eq.z);
  out.state = eq.forward.z;
  out.halt_features = eq.z.mean(1);  // (B, C)
  out.stats = stats_from(eq, f);
  if (is_training() && cfg.deq.jac_reg > 0) out.aux_loss = jacobian_penalty(f, eq.forward.z, cfg.deq.jac_reg);
  return out;
}

Family deq_family() {
  return {"deq", "solve z = core(z + inject(x)) from z = 0", /*has_loop=*/true, /*has_solver=*/true,
          /*has_energy=*/false, /*has_state=*/true, /*can_decode=*/true,
          // REFERENCE 4: DEQs train with the exact implicit gradient.
          /*preset=*/R"({"grad": {"mode": "ift"}})",
          /*cap_refinement=*/cap_solver_iterations,
          /*blocks=*/[](const ModelConfig& c) { return c.deq.layers; },
          /*upgrade_saved=*/nullptr,
          /*make=*/[](const ModelConfig& c) -> std::shared_ptr<ModelImpl> { return std::make_shared<DEQImpl>(c); }};
}

}  // namespace eqt::models
