// eqt/models/eqt.cpp — the Equilibrium Transformer (REFERENCE 3).
//
// After each block's output f, the Equilibrium Refinement Module runs K steps of
//   h <- h - alpha (grad_h E(h) + (h - f) / gamma),   h0 = f,   E = sum_t e_t,
// i.e. gradient descent on Phi(h) = E(h) + ||h - f||^2 / (2 gamma), then h* = LayerNorm(h_K).
// Training gradients: `unrolled` records every step with second-order autograd; `implicit`
// runs the steps without a graph and treats h_K as the minimiser of Phi, whose sensitivity
// is -(Hess E + I/gamma)^-1 d(grad E)/dtheta: conjugate gradient on Hessian-vector products
// inside a custom backward (eqt::grad::attach_backward). Halting: a sample stops when its
// relative change ||dh|| / ||h|| < halt_eps, or (halt_energy > 0) once its mean energy per
// position is below halt_energy; with entropy_steps a token refines for a share of K that
// grows with the entropy of its prediction from f (uncertain tokens get more steps). Loss
// term: beta * mean over layers and positions of e(h_K). With eqt.memory the energy's bank
// moves toward the refined states after each training forward (energy.h).
#include "eqt/models/families.h"

#include "eqt/grad/implicit_backward.h"
#include "eqt/util/per_sample.h"

namespace eqt::models {
namespace {

struct Refined {
  torch::Tensor h;        // (B, T, C) h_K (carrying the gradient of the chosen mode)
  torch::Tensor steps;    // (B,) float64 steps taken
  torch::Tensor change;   // (B,) float64 last relative change
  torch::Tensor trace;    // (S, B) float64 Phi at every step, S = K + 1
  torch::Tensor e_final;  // (B, T) e(h_K), with a graph when asked for (the loss term)
};

// grad_h sum(e(h)) with a graph only if create_graph (then h must carry one); h at the
// context's positions. The energy value comes out of the same forward (e_out).
torch::Tensor energy_grad(Energy& energy, const torch::Tensor& h, const EnergyContext& ctx, bool create_graph,
                          torch::Tensor* e_out = nullptr) {
  if (!create_graph && energy->has_closed_form()) {  // nothing differentiates through it
    auto [e, g] = energy->value_and_grad(h.detach(), ctx);
    if (e_out) *e_out = e;
    return g;
  }
  torch::AutoGradMode on(true);
  torch::Tensor x = create_graph ? h : h.detach().requires_grad_(true);
  auto e = energy->forward(x, ctx);  // (B, T)
  if (e_out) *e_out = e.detach();
  return torch::autograd::grad({e.sum()}, {x}, {}, /*retain_graph=*/create_graph, create_graph)[0];
}

// record: every step keeps its graph (unrolled gradient). final_graph: e(h_K) keeps its graph
// too, so the loss term and the trace's last point share one evaluation. want_trace: record
// the objective per step (the trace costs one more energy evaluation; incremental decoding,
// which reports steps and relative change per token, skips it).
// budget: (B, T) int64 steps per token (eqt.entropy_steps), undefined: K for every token.
Refined refine(Energy& energy, const torch::Tensor& f, const EnergyContext& ctx, const ModelConfig& c, int64_t K,
               bool record, bool final_graph, bool want_trace, const torch::Tensor& budget = {}) {
  const int64_t B = f.size(0);
  const double alpha = c.eqt.alpha, gamma = c.eqt.gamma;
  Refined r;
  torch::Tensor h = record ? f : f.detach();
  torch::Tensor fd = f.detach();
  torch::Tensor active = torch::ones({B}, torch::dtype(torch::kBool).device(f.device()));
  r.steps = torch::zeros({B}, torch::kFloat64);
  r.change = torch::zeros({B}, torch::kFloat64);
  std::vector<torch::Tensor> trace;
  auto phi = [&](const torch::Tensor& e, const torch::Tensor& hh) {  // (B,) objective
    return (e.sum(1) + (hh.detach() - fd).pow(2).flatten(1).sum(1) / (2 * gamma)).to(torch::kFloat64).cpu();
  };
  const bool by_change = c.eqt.halt_eps > 0, by_energy = c.eqt.halt_energy > 0;
  const bool halting = by_change || by_energy;
  for (int64_t k = 0; k < K; ++k) {
    torch::Tensor e;
    auto g = energy_grad(energy, h, ctx, record, &e);
    if (want_trace) trace.push_back(phi(e, h));
    if (by_energy) {  // a sample whose mean energy is below the threshold takes no more steps
      active = active & (e.detach().mean(1) >= c.eqt.halt_energy).to(active.device());
      if (!active.any().item<bool>()) break;
    }
    auto step = alpha * (g + (h - (record ? f : fd)) / gamma);  // (B, T, C)
    if (budget.defined()) step = step * (budget > k).unsqueeze(-1).to(step.scalar_type());  // tokens past theirs stay
    const bool last = k + 1 == K;
    torch::Tensor rel;  // (B,) relative change: every step when halting, else only the last
    if (halting || last) {
      torch::NoGradGuard ng;
      rel = (util::sample_norm(step) / util::sample_norm(h).clamp_min(1e-12)).to(torch::kFloat64).cpu();
    }
    {
      torch::AutoGradMode on(record);
      // Without halting every sample is active: no select (nor its node in the graph).
      h = halting ? torch::where(util::per_sample(active, h), h - step, h) : h - step;
    }
    if (!halting) {
      if (last) {
        r.steps.fill_(double(K));
        r.change = rel;
      }
      continue;
    }
    r.steps = r.steps + active.to(torch::kFloat64).cpu();
    r.change = torch::where(active.cpu(), rel, r.change);
    if (by_change) active = active & (rel >= c.eqt.halt_eps).to(active.device());
    if (!active.any().item<bool>()) break;
  }
  if (budget.defined())  // a sample's steps: the mean over its tokens of the steps each took
    r.steps = torch::minimum(budget.to(torch::kCPU, torch::kFloat64), r.steps.unsqueeze(1)).mean(1);
  if (want_trace || final_graph) {
    torch::AutoGradMode on(final_graph);  // else the trace needs the energy, not its gradient
    r.e_final = energy->forward(h, ctx);
    if (want_trace) trace.push_back(phi(r.e_final.detach(), h));
  }
  r.h = h;
  if (want_trace) r.trace = torch::stack(trace);
  return r;
}

}  // namespace

EqTImpl::EqTImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  embed_ = register_module("embed", TokenIO(cfg));
  auto bo = cfg.block_options();
  torch::nn::ModuleList blocks, norms;  // parameter names blocks.i.*, refine_norm.i.*
  for (int64_t i = 0; i < cfg.n_layers; ++i) {
    blocks_.push_back(nn::Block(bo));
    out_norms_.push_back(nn::Norm(nn::NormOptions(cfg.block.d_model, "layer")));
    blocks->push_back(blocks_.back());
    norms->push_back(out_norms_.back());
  }
  register_module("blocks", blocks);
  register_module("refine_norm", norms);
  energy_ = register_module("energy", Energy(cfg, embed_));
  init_weights();
}

ModelOutput EqTImpl::compute(const torch::Tensor& new_tokens, DecodeCache* cache, const ModelConfig& cfg,
                                const StartState& start) {
  // The refinement starts each block at its own output f (h0 = f): no state to restart yet.
  check_start(start, "eqt", /*can_start=*/false, /*can_noise=*/false);
  // Incremental: each block attends to the cached refined states of earlier positions, and
  // the refinement runs for the new positions only: e_t depends on h_t and tokens <= t, so
  // a position's refinement never reads a later or an earlier state (energy.h).
  const int64_t pos0 = cache ? cache->length : 0;
  const torch::Tensor tokens = cache ? cache->with(new_tokens) : new_tokens;  // (B, pos0 + T)
  const bool training = is_training() && torch::GradMode::is_enabled();
  const int64_t K = is_training() ? cfg.eqt.steps : cfg.eqt.eval_steps;
  const bool implicit = training && cfg.eqt.grad == "implicit";
  auto h = embed_->embed(new_tokens, positions_of(cache, new_tokens));  // (B, T, C)
  const int64_t B = h.size(0);
  ModelOutput out;
  torch::Tensor steps = torch::zeros({B}, torch::kFloat64), change = torch::zeros({B}, torch::kFloat64);
  torch::Tensor energy_sum;  // scalar: sum over layers of mean e(h_K)
  EnergyContext ctx;         // the energy's token side, shared by every layer and step
  std::vector<torch::Tensor> visited;  // eqt.memory, training: every layer's refined states (B, T, C)
  if (K > 0 || (training && cfg.eqt.beta > 0)) ctx = energy_->prepare(tokens, pos0, h.size(1), cache ? cache->offset : torch::Tensor());
  for (size_t l = 0; l < blocks_.size(); ++l) {
    auto f = run_layer(blocks_[l], h, cache, "blocks." + std::to_string(l));
    torch::Tensor hk = f;
    torch::Tensor e_loss;  // (B, T) e(h_K) with its graph, when refine already has it
    if (K > 0) {
      const bool record = training && !implicit, final_graph = record && cfg.eqt.beta > 0;
      torch::Tensor budget;  // (B, T) steps per token: more for uncertain ones
      if (cfg.eqt.entropy_steps) {
        torch::NoGradGuard ng;
        auto logp = torch::log_softmax(embed_->logits(f), -1);  // (B, T, V)
        auto H = -(logp.exp() * logp).sum(-1);                  // (B, T) entropy of the prediction from f
        budget = (H / std::log(double(cfg.vocab)) * double(K)).ceil().clamp(double(cfg.eqt.entropy_min_steps), double(K))
                     .to(torch::kLong);
      }
      auto r = refine(energy_, f, ctx, cfg, K, record, final_graph, /*want_trace=*/cache == nullptr && l == 0, budget);
      if (cfg.eqt.memory && is_training()) visited.push_back(r.h.detach());
      if (final_graph) e_loss = r.e_final;
      hk = r.h;
      steps = steps + r.steps;
      change = change + r.change;
      if (l == 0) out.stats.energy_trace = r.trace;
      if (implicit) {
        // y = h_K - gamma (grad E(h_K) + (h_K - f) / gamma) = f - gamma grad E(h_K): value ~ h_K
        // at the minimiser, with a graph to theta (through grad E) and to f.
        auto hh = r.h.detach().requires_grad_(true);
        auto y = f - cfg.eqt.gamma * energy_grad(energy_, hh, ctx, /*create_graph=*/true);
        auto energy = energy_;
        if (!out.stats.backward) out.stats.backward = std::make_shared<grad::BackwardStats>();
        hk = grad::attach_backward(
            y, grad::proximal_transform(
                   [energy, ctx](const torch::Tensor& x) mutable { return energy_grad(energy, x, ctx, true); },
                   r.h, cfg.eqt.gamma, cfg.eqt.cg_iters, cfg.eqt.cg_tol, out.stats.backward));
      }
    }
    if (training && cfg.eqt.beta > 0) {
      auto e = (e_loss.defined() ? e_loss : energy_->forward(hk, ctx)).mean();
      energy_sum = energy_sum.defined() ? energy_sum + e : e;
    }
    h = out_norms_[l](hk);
  }
  out.logits = embed_->logits(h);
  // The bank moves after the forward, so every layer of this one saw the same bank.
  if (!visited.empty()) energy_->update_memory(torch::cat(visited, 0));
  if (energy_sum.defined()) out.aux_loss = cfg.eqt.beta * energy_sum / double(blocks_.size());
  const double L = std::max<double>(1.0, double(blocks_.size()));
  out.stats.steps = steps / L;
  out.stats.residual = change / L;
  return out;
}

Family eqt_family() {
  return {"eqt", "per block: gradient descent on a learned energy with a proximal term", /*has_loop=*/true,
          /*has_solver=*/false, /*has_energy=*/true, /*has_state=*/false, /*can_decode=*/true,
          /*preset=*/"{}",
          /*cap_refinement=*/[](ModelConfig& c, int64_t n) { c.eqt.eval_steps = n; },  // 0: no refinement
          /*blocks=*/[](const ModelConfig& c) { return c.n_layers; },
          // eqt.reverse appeared with the attention predictor; earlier EqT checkpoints hold
          // the reverse block's weights.
          /*upgrade_saved=*/
          [](nlohmann::json& j) {
            if (!(j.contains("eqt") && j["eqt"].is_object() && j["eqt"].contains("reverse"))) j["eqt"]["reverse"] = "block";
          },
          /*make=*/[](const ModelConfig& c) -> std::shared_ptr<ModelImpl> { return std::make_shared<EqTImpl>(c); }};
}

}  // namespace eqt::models
