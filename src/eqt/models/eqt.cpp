// eqt/models/eqt.cpp — the Equilibrium Transformer (REFERENCE 3).
//
// After each block's output f, the Equilibrium Refinement Module runs K steps of
//   h <- h - alpha (grad_h E(h) + (h - f) / gamma),   h0 = f,   E = sum_t e_t,
// i.e. gradient descent on Phi(h) = E(h) + ||h - f||^2 / (2 gamma), then h* = LayerNorm(h_K).
// Training gradients: `unrolled` records every step with second-order autograd; `implicit`
// runs the steps without a graph and treats h_K as the minimiser of Phi, whose sensitivity
// is -(Hess E + I/gamma)^-1 d(grad E)/dtheta: conjugate gradient on Hessian-vector products
// inside a custom backward (eqt::grad::attach_backward). Halting: a sample stops when its
// relative change ||dh|| / ||h|| < halt_eps. Loss term: beta * mean over layers and positions
// of e(h_K).
#include "eqt/models/families.h"

#include "eqt/grad/implicit_backward.h"
#include "eqt/solve/conjugate_gradient.h"
#include "eqt/util/per_sample.h"

namespace eqt::models {
namespace {

struct Refined {
  torch::Tensor h;        // (B, T, C) h_K (carrying the gradient of the chosen mode)
  torch::Tensor steps;    // (B,) float64 steps taken
  torch::Tensor change;   // (B,) float64 last relative change
  torch::Tensor trace;    // (S, B) float64 Phi at every step, S = K + 1
};

// grad_h sum(e(h)) with a graph only if create_graph (then h must carry one); h at
// positions pos0 ..., tokens every token up to the last of them.
torch::Tensor energy_grad(Energy& energy, const torch::Tensor& h, const torch::Tensor& tokens, int64_t pos0,
                          bool create_graph, torch::Tensor* e_out = nullptr) {
  torch::AutoGradMode on(true);
  torch::Tensor x = create_graph ? h : h.detach().requires_grad_(true);
  auto e = energy->forward(x, tokens, pos0);  // (B, T)
  if (e_out) *e_out = e.detach();
  return torch::autograd::grad({e.sum()}, {x}, {}, /*retain_graph=*/create_graph, create_graph)[0];
}

Refined refine(Energy& energy, const torch::Tensor& f, const torch::Tensor& tokens, int64_t pos0, const ModelConfig& c,
               int64_t K, bool record) {
  const int64_t B = f.size(0);
  const double alpha = c.eqt_alpha, gamma = c.eqt_gamma;
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
  for (int64_t k = 0; k < K; ++k) {
    torch::Tensor e;
    auto g = energy_grad(energy, h, tokens, pos0, record, &e);
    trace.push_back(phi(e, h));
    auto step = alpha * (g + (h - (record ? f : fd)) / gamma);  // (B, T, C)
    torch::Tensor rel;
    {
      torch::NoGradGuard ng;
      rel = (util::sample_norm(step) / util::sample_norm(h).clamp_min(1e-12)).to(torch::kFloat64).cpu();
    }
    auto mask = util::per_sample(active, h);
    {
      torch::AutoGradMode on(record);
      h = torch::where(mask, h - step, h);
    }
    r.steps = r.steps + active.to(torch::kFloat64).cpu();
    r.change = torch::where(active.cpu(), rel, r.change);
    if (c.eqt_halt_eps > 0) active = active & (rel >= c.eqt_halt_eps).to(active.device());
    if (!active.any().item<bool>()) break;
  }
  {
    torch::NoGradGuard ng;  // the last point of the trace needs the energy, not its gradient
    trace.push_back(phi(energy->forward(h, tokens, pos0), h));
  }
  r.h = h;
  r.trace = torch::stack(trace);
  return r;
}

}  // namespace

EqTImpl::EqTImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  embed_ = register_module("embed", TokenIO(cfg));
  auto bo = cfg.block_options();
  torch::nn::ModuleList blocks, norms;  // parameter names blocks.i.*, refine_norm.i.*
  for (int64_t i = 0; i < cfg.n_layers; ++i) {
    blocks_.push_back(nn::Block(bo));
    out_norms_.push_back(nn::Norm(nn::NormOptions(cfg.d_model, "layer")));
    blocks->push_back(blocks_.back());
    norms->push_back(out_norms_.back());
  }
  register_module("blocks", blocks);
  register_module("refine_norm", norms);
  energy_ = register_module("energy", Energy(cfg, embed_));
  init_weights();
}

ModelOutput EqTImpl::compute(const torch::Tensor& new_tokens, DecodeCache* cache) {
  // Incremental: each block attends to the cached refined states of earlier positions, and
  // the refinement runs for the new positions only: e_t depends on h_t and tokens <= t, so
  // a position's refinement never reads a later or an earlier state (energy.h).
  const int64_t pos0 = cache ? cache->length : 0;
  const torch::Tensor tokens = cache ? cache->with(new_tokens) : new_tokens;  // (B, pos0 + T)
  const bool training = is_training() && torch::GradMode::is_enabled();
  const int64_t K = is_training() ? cfg_.eqt_steps : cfg_.eqt_eval_steps;
  const bool implicit = training && cfg_.eqt_grad == "implicit";
  auto h = embed_->embed(new_tokens, pos0);  // (B, T, C)
  const int64_t B = h.size(0);
  ModelOutput out;
  torch::Tensor steps = torch::zeros({B}, torch::kFloat64), change = torch::zeros({B}, torch::kFloat64);
  torch::Tensor energy_sum;  // scalar: sum over layers of mean e(h_K)
  for (size_t l = 0; l < blocks_.size(); ++l) {
    auto f = run_layer(blocks_[l], h, cache, "blocks." + std::to_string(l));
    torch::Tensor hk = f;
    if (K > 0) {
      auto r = refine(energy_, f, tokens, pos0, cfg_, K, /*record=*/training && !implicit);
      hk = r.h;
      steps = steps + r.steps;
      change = change + r.change;
      if (l == 0) out.stats.energy_trace = r.trace;
      if (implicit) {
        // y = h_K - gamma (grad E(h_K) + (h_K - f) / gamma) = f - gamma grad E(h_K): value ~ h_K
        // at the minimiser, with a graph to theta (through grad E) and to f.
        auto hh = r.h.detach().requires_grad_(true);
        auto y = f - cfg_.eqt_gamma * energy_grad(energy_, hh, tokens, pos0, /*create_graph=*/true);
        auto energy = energy_;
        const double gamma = cfg_.eqt_gamma;
        const int64_t iters = cfg_.eqt_cg_iters;
        const double tol = cfg_.eqt_cg_tol;
        auto hK = r.h.detach();
        hk = grad::attach_backward(y, [energy, tokens, pos0, hK, gamma, iters, tol](const torch::Tensor& v) mutable {
          auto x = hK.detach().requires_grad_(true);
          auto gE = energy_grad(energy, x, tokens, pos0, /*create_graph=*/true);
          auto A = [&](const torch::Tensor& w) {  // (Hess E + I / gamma) w
            return torch::autograd::grad({gE}, {x}, {w}, /*retain_graph=*/true)[0] + w / gamma;
          };
          return torch::Tensor(solve::conjugate_gradient(A, v, iters, tol).x / gamma);
        });
      }
    }
    if (training && cfg_.eqt_beta > 0) {
      auto e = energy_->forward(hk, tokens, pos0).mean();
      energy_sum = energy_sum.defined() ? energy_sum + e : e;
    }
    h = out_norms_[l](hk);
  }
  out.logits = embed_->logits(h);
  if (energy_sum.defined()) out.aux_loss = cfg_.eqt_beta * energy_sum / double(blocks_.size());
  const double L = std::max<double>(1.0, double(blocks_.size()));
  out.stats.steps = steps / L;
  out.stats.residual = change / L;
  return out;
}

}  // namespace eqt::models
