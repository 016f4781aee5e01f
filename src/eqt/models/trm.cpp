// eqt/models/trm.cpp — the recursive reasoner (TRM, REFERENCE 6; issue 28) and its
// fixed-point variant (the Attractor paper's puzzle model).
//
// Latents z_H (the answer) and z_L (the reasoning), both (B, T, C), and one shared net L of
// post-norm blocks (nn/post_norm_block.h), applied with input injection by addition:
//   x = rms(embed(tokens))
//   T cycles:  n times  z_L <- L(z_L + z_H + x);   then  z_H <- L(z_H + z_L)
// the first T - 1 cycles without a gradient, the last with one; logits from z_H (the tied
// embedding, TokenIO). trm.inner = solve replaces the n updates by the fixed point
//   z_L* = L(z_L* + z_H + x)
// found by eqt's solvers (solver.*, from the incoming z_L) with grad.mode's gradient (the
// preset: phantom, k = 2, tau = 1: two re-applications of the map with a graph from z_L*),
// and trm.jac_reg > 0 adds the Jacobian penalty of the inner map while training.
// The state a later call can start from is cat(z_H, z_L) (B, T, 2C); the family's own start
// is two fixed vectors h_init, l_init ~ N(0, 1) clipped at +-2 (buffers, as in TRM),
// broadcast to every position. Statistics per row: the inner steps taken (n x T, or the
// solver's iterations summed over cycles) and the last cycle's relative change of z_H, the
// convergence signal.
// What it is not: a decoder. It has no KV cache (incremental decoding is refused by name),
// and the MLP mixer takes one sequence length, the puzzle's.
#include "eqt/models/families.h"

#include "eqt/util/autocast.h"
#include "eqt/util/per_sample.h"

namespace eqt::models {

TRMImpl::TRMImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  embed_ = register_module("embed", TokenIO(cfg));
  nn::PostNormBlockOptions o(cfg.block_options().attn());
  o.mixer(cfg.trm.mixer).seq_len(cfg.max_seq).mlp(cfg.block.mlp).mlp_mult(cfg.block.mlp_mult);
  auto list = register_module("net", torch::nn::ModuleList());  // net.<i>.*
  for (int64_t i = 0; i < cfg.trm.layers; ++i) {
    net_.push_back(nn::PostNormBlock(o));
    list->push_back(net_.back());
  }
  const int64_t C = cfg.block.d_model;
  h_init_ = register_buffer("h_init", torch::randn({C}).clamp(-2, 2));
  l_init_ = register_buffer("l_init", torch::randn({C}).clamp(-2, 2));
  init_weights();
}

torch::Tensor TRMImpl::net(torch::Tensor h) {
  for (auto& b : net_) h = b->forward(h);
  return h;
}

ModelOutput TRMImpl::compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                             const StartState& start) {
  if (cache)
    throw std::invalid_argument("family 'trm' reads a whole puzzle at once: it has no incremental decoding "
                                "(generate / serve); evaluate it with eqt eval");
  // Path noise (EqR's recipe) rides the unrolled updates; a fixed-point solve has none.
  check_start(start, "trm", /*can_start=*/true, /*can_noise=*/cfg.trm.inner == "unrolled");
  const bool training = is_training();
  const auto& R = cfg.trm;
  auto x = nn::rms_unit(embed_->embed(tokens, positions_of(cache, tokens)));  // (B, T, C)
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  RowNoise noise(start.seeds);
  auto own = torch::cat({h_init_.to(x.dtype()).expand({B, T, C}), l_init_.to(x.dtype()).expand({B, T, C})}, -1);
  auto z = start_from(start, own, &noise, "trm");  // (B, T, 2C)
  torch::Tensor zH = z.slice(-1, 0, C), zL = z.slice(-1, C, 2 * C), zH_before;
  torch::Tensor steps = torch::zeros({B}, torch::kFloat64);
  torch::Tensor aux;
  // Under bf16 autocast the tolerance is at least solver.low_precision_tol (model_config.h).
  const auto solver = cfg.solver_options(training, util::low_precision_active(x.device().type()));
  for (int64_t c = 0; c < R.h_cycles; ++c) {
    const bool last = c == R.h_cycles - 1;
    std::optional<torch::NoGradGuard> ng;
    if (!last) ng.emplace();  // the first T - 1 cycles build no graph
    auto ctx = zH + x;        // (B, T, C) the injection of this cycle's inner problem
    if (R.inner == "unrolled") {
      for (int64_t i = 0; i < R.l_cycles; ++i) {
        zL = net(zL + ctx);
        if (start.path_noise > 0) zL = zL + start.path_noise * noise.draw(zL);
      }
      steps += double(R.l_cycles);
    } else {
      solve::Map f = [this, ctx](const torch::Tensor& y) { return net(y + ctx); };
      if (!last || !training) {
        auto r = solve::solve(f, zL.detach(), solver);
        zL = r.fz;  // f(z*), as find_equilibrium answers at inference (a cap of 1 is one application)
        steps += r.steps.to(torch::kFloat64).cpu();
      } else {
        auto eq = grad::find_equilibrium(f, zL.detach(), solver, cfg.grad_options());
        zL = eq.z;
        steps += eq.forward.steps.to(torch::kFloat64).cpu();
        if (R.jac_reg > 0) aux = jacobian_penalty(f, eq.forward.z, R.jac_reg);
      }
    }
    zH_before = zH;
    zH = net(zH + zL);
    if (start.path_noise > 0) zH = zH + start.path_noise * noise.draw(zH);
  }
  ModelOutput out;
  out.logits = embed_->logits(zH);
  out.aux_loss = aux;
  out.state = torch::cat({zH, zL}, -1);
  out.halt_features = zH.mean(1);  // (B, C)
  torch::NoGradGuard ng;
  out.stats.steps = steps;
  out.stats.residual =
      (util::sample_norm(zH - zH_before) / util::sample_norm(zH).clamp_min(1e-12)).to(torch::kFloat64).cpu();
  return out;
}

Family trm_family() {
  return {"trm", "z_H, z_L refined by one shared post-norm net: T cycles of n z_L updates and one z_H update",
          /*has_loop=*/true, /*has_solver=*/false, /*has_energy=*/false, /*has_state=*/true, /*can_decode=*/false,
          // The fixed-point variant's solve and gradient (the Attractor paper's puzzle model):
          // Anderson, 4-8 iterations at relative tolerance 1e-3, two re-applications with a graph.
          /*preset=*/
          R"({"grad": {"mode": "phantom", "k": 2, "tau": 1.0},
              "solver": {"train_tol": 1e-3, "train_max_iter": 8, "train_min_iter": 4,
                         "eval_tol": 1e-3, "eval_max_iter": 8, "eval_min_iter": 4}})",
          // A cap is the inner work per cycle: z_L updates (unrolled, at least one) or solver
          // iterations (solve, at least one).
          /*cap_refinement=*/
          [](ModelConfig& c, int64_t n) {
            c.trm.l_cycles = std::max<int64_t>(n, 1);
            cap_solver_iterations(c, std::max<int64_t>(n, 1));
          },
          // The MLP mixer's blocks hold no attention weights: they count as none (a lower bound).
          /*blocks=*/[](const ModelConfig& c) { return c.trm.mixer == "attention" ? c.trm.layers : int64_t(0); },
          /*upgrade_saved=*/nullptr,
          /*make=*/[](const ModelConfig& c) -> std::shared_ptr<ModelImpl> { return std::make_shared<TRMImpl>(c); }};
}

}  // namespace eqt::models
