// eqt/models/attractor.cpp — the Attractor Model (REFERENCE 2).
// The backbone proposes c (its un-normalised residual stream); the gated head refines
// y = f(y, c) = Head(y + c) - y from y0 = c (detached), so y* = c + Delta(y* + c) with Delta
// the head's summed residual increments. Decode RMSNorm(y*) with the tied embedding. With
// the iteration cap at 0 the proposal is decoded directly: RMSNorm(c) (internalised mode),
// and an incremental decode leaves the head's cache alone (it cannot be switched on later
// in the same sequence: DecodeCache::past says so).
#include "eqt/models/families.h"

namespace eqt::models {

AttractorImpl::AttractorImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  embed_ = register_module("embed", TokenIO(cfg));
  backbone_ = register_module("backbone", nn::BlockStack(cfg.block_options(), cfg.n_layers));
  auto head = cfg.block_options();
  head.gates(true).gamma_max(cfg.attractor.gamma_max);
  head_ = register_module("head", nn::BlockStack(head, cfg.attractor.head_layers));
  init_weights();
}

ModelOutput AttractorImpl::compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                                const StartState& start) {
  check_start(start, "attractor", /*can_start=*/true, /*can_noise=*/false);
  auto c = run_layer(backbone_, embed_->embed(tokens, positions_of(cache, tokens)), cache, "backbone");  // (B, T, C)
  ModelOutput out;
  const int64_t cap = is_training() ? cfg.solver.train_max_iter : cfg.solver.eval_max_iter;
  if (cap == 0) {
    out.logits = embed_->logits(c);
    out.stats.steps = torch::zeros({c.size(0)}, torch::kFloat64);
    return out;
  }
  // Incremental: only the new positions are solved for, attending to the cached head states
  // of earlier positions (their equilibria), which are then extended by the new ones.
  RowNoise noise(start.seeds);
  auto y0 = start_from(start, c.detach(), &noise, "attractor");  // (B, T, C)
  auto [f, eq] = solve_residual(head_, c, cache ? cache->past("head") : nullptr, y0, cfg, is_training());
  if (cache) cache->extend(head_, "head", eq.forward.z + c);
  out.logits = embed_->logits(eq.z);
  out.state = eq.forward.z;
  out.halt_features = eq.z.mean(1);  // (B, C)
  out.stats = stats_from(eq, f);
  if (is_training() && cfg.attractor.jac_reg > 0) out.aux_loss = jacobian_penalty(f, eq.forward.z, cfg.attractor.jac_reg);
  return out;
}

Family attractor_family() {
  return {"attractor", "backbone proposes c, a gated head solves y = Head(y + c) - y", /*has_loop=*/true,
          /*has_solver=*/true, /*has_energy=*/false, /*has_state=*/true, /*can_decode=*/true,
          /*preset=*/"{}",
          /*cap_refinement=*/cap_solver_iterations,  // 0: decode the proposal (internalised)
          /*blocks=*/[](const ModelConfig& c) { return c.n_layers + c.attractor.head_layers; },
          /*upgrade_saved=*/nullptr,
          /*make=*/[](const ModelConfig& c) -> std::shared_ptr<ModelImpl> { return std::make_shared<AttractorImpl>(c); }};
}

}  // namespace eqt::models
