// eqt/models/energy_grad.cpp — EqT's energy and its gradient in closed form (energy.h).
//
// Why: at inference every token runs layers x K gradient evaluations of the energy on
// one position, where autograd's per-operation bookkeeping (a node per forward operation,
// then the backward graph) costs more than the arithmetic. The derivatives below are the
// chain rule written out once; tests/models/test_energy_grad.cpp checks value and gradient
// against autograd of forward() in float64.
// What it is not: differentiable itself (no graph), or the legacy block reverse predictor.
#include "eqt/models/energy.h"

#include <cmath>

namespace eqt::models {
namespace {

// d(-log softmax(z)[y]) / dz = softmax(z) - onehot(y). logp: (..., V), y: (...) int64.
torch::Tensor nll_grad(const torch::Tensor& logp, const torch::Tensor& y) {
  return logp.exp().scatter_add(-1, y.unsqueeze(-1), -torch::ones_like(logp.narrow(-1, 0, 1)));
}

// Sum over k >= i along dim: the suffix sums (the adjoint of a prefix sum).
torch::Tensor suffix_sum(const torch::Tensor& x, int64_t dim) { return x.flip(dim).cumsum(dim).flip(dim); }

}  // namespace

std::pair<torch::Tensor, torch::Tensor> EnergyImpl::value_and_grad(const torch::Tensor& h, const EnergyContext& ctx) {
  TORCH_CHECK(has_closed_form(), "energy: no closed-form gradient for eqt.reverse = ", cfg_.eqt.reverse);
  TORCH_CHECK(h.size(1) == ctx.T, "energy: h has ", h.size(1), " positions, the context ", ctx.T);
  torch::NoGradGuard ng;
  torch::Tensor e = torch::zeros({h.size(0), h.size(1)}, h.options()), g = torch::zeros_like(h);
  auto add = [&](std::pair<torch::Tensor, torch::Tensor> term) {
    e = e + term.first;
    g = g + term.second;
  };
  if (cfg_.eqt.lambda_rev != 0) add(reverse_value_and_grad(h, ctx));
  if (cfg_.eqt.lambda_mask != 0 && ctx.mask_idx.numel() > 0) add(mask_value_and_grad(h, ctx));
  if (cfg_.eqt.lambda_conf != 0) add(confidence_value_and_grad(h));
  if (cfg_.eqt.memory && cfg_.eqt.lambda_mem != 0) add(memory_value_and_grad(h));
  return {e, g};
}

std::pair<torch::Tensor, torch::Tensor> EnergyImpl::reverse_value_and_grad(const torch::Tensor& h,
                                                                           const EnergyContext& ctx) {
  const int64_t C = h.size(2), W = cfg_.eqt.rev_window;
  const auto& E = io_->table();                                                  // (V, C)
  ReverseWindow win;                                                             // the forward's pieces
  auto logp = reverse_attention(h, ctx, &win);                                   // (B, T, W, V)
  const auto &w = win.w, &den = win.den, &o = win.o;
  auto nll = -logp.gather(3, ctx.rev_tgt.unsqueeze(3)).squeeze(3);              // (B, T, W)
  auto weight = ctx.rev_valid / ctx.rev_valid.sum(-1, true).clamp_min(1.0);     // (T, W) valid / count
  auto value = (nll * weight).sum(2);                                            // (B, T)
  auto dlogits = nll_grad(logp, ctx.rev_tgt) * weight.unsqueeze(-1);           // (B, T, W, V)
  // Every target's logits hold E A h: its adjoint sums over the targets.
  auto dh = torch::matmul(torch::matmul(dlogits.sum(2), E), rev_in_->weight);   // (B, T, C)
  if (W > 1) {
    // o_k = sum_{i<=k} w_i v_i / D_k, D_k = exp(-m) + sum_{i<=k} w_i (target k+1), so
    // do_k / ds_i = w_i (v_i - o_k) / D_k for i <= k and
    // ds_i = w_i (v_i . S_i - R_i), S_i = sum_{k>=i} c_k, R_i = sum_{k>=i} c_k . o_k, c_k = G_k / D_k.
    auto c = dlogits.narrow(2, 1, W - 1) / den.unsqueeze(-1);                    // (B, T, W-1, V)
    auto S = suffix_sum(c, 2);                                                   // (B, T, W-1, V)
    auto R = suffix_sum((c * o).sum(-1), 2);                                     // (B, T, W-1)
    auto ds = w * ((ctx.values * S).sum(-1) - R);                                // (B, T, W-1)
    auto dqk = torch::zeros({h.size(0), h.size(1), E.size(0)}, h.options())
                   .scatter_add(2, ctx.src_tok, ds.to(h.scalar_type()));  // (B, T, V); ds is bf16 under autocast
    dh = dh + torch::matmul(torch::matmul(dqk, ctx.keys) / std::sqrt(double(C)), rev_q_->weight);
  }
  return {cfg_.eqt.lambda_rev * value, cfg_.eqt.lambda_rev * dh};
}

std::pair<torch::Tensor, torch::Tensor> EnergyImpl::mask_value_and_grad(const torch::Tensor& h,
                                                                        const EnergyContext& ctx) {
  auto hm = h.index_select(1, ctx.mask_idx);                        // (B, n, C)
  auto z1 = mask_up_(hm);                                           // (B, n, C)
  auto sig = torch::sigmoid(z1);
  auto z2 = mask_down_(z1 * sig);                                   // (B, n, C) silu(z1) W_down^T
  auto logp = torch::log_softmax(io_->logits(z2), -1);              // (B, n, V)
  auto nll = -logp.gather(2, ctx.mask_tgt.unsqueeze(2)).squeeze(2);  // (B, n)
  auto dnll = nll_grad(logp, ctx.mask_tgt);                         // (B, n, V)
  if (ctx.mask_w.defined()) {  // a ragged batch: the term at row b's positions only
    nll = nll * ctx.mask_w;
    dnll = dnll * ctx.mask_w.unsqueeze(-1);
  }
  auto dz2 = io_->logits_vjp(z2, dnll);                             // (B, n, C)
  auto dz1 = torch::matmul(dz2, mask_down_->weight) * sig * (1 + z1 * (1 - sig));  // silu' = s (1 + x (1 - s))
  auto dhm = torch::matmul(dz1, mask_up_->weight);                   // (B, n, C)
  const double l = cfg_.eqt.lambda_mask;
  // index_add needs one dtype: under bf16 autocast nll and dhm come out of bf16 products.
  auto value = torch::zeros({h.size(0), h.size(1)}, h.options()).index_add(1, ctx.mask_idx, (l * nll).to(h.scalar_type()));
  return {value, torch::zeros_like(h).index_add(1, ctx.mask_idx, (l * dhm).to(h.scalar_type()))};
}

std::pair<torch::Tensor, torch::Tensor> EnergyImpl::confidence_value_and_grad(const torch::Tensor& h) {
  // conf = H(p) - log p_a, a = argmax: dH/dz = -p (log p + H), d log p_a / dz = onehot(a) - p.
  auto logp = torch::log_softmax(io_->logits(h), -1);  // (B, T, V)
  auto p = logp.exp();
  auto H = -(p * logp).sum(-1, true);                   // (B, T, 1)
  auto [top, a] = logp.max(-1, true);                   // (B, T, 1) each
  auto dz = (p * (1 - logp - H)).scatter_add(-1, a, -torch::ones_like(top));
  const double l = cfg_.eqt.lambda_conf;
  return {l * (H - top).squeeze(-1), l * io_->logits_vjp(h, dz)};
}

std::pair<torch::Tensor, torch::Tensor> EnergyImpl::memory_value_and_grad(const torch::Tensor& h) {
  // mem = -logsumexp_i (c_i / tau + log r_i), c_i = u . zhat_i, u = h / ||h||. With
  // p = softmax_i of the same scores, d mem / dh = -(1 / tau) sum_i p_i dc_i / dh and
  // dc_i / dh = (zhat_i - c_i u) / ||h||, so
  //   d mem / dh = -(sum_i p_i zhat_i - (sum_i p_i c_i) u) / (tau ||h||).
  const auto m = memory_scores(h);
  auto lse = torch::logsumexp(m.s, -1, true);                             // (B, T, 1)
  auto p = (m.s - lse).exp();                                             // (B, T, M)
  auto pc = (p * m.c).sum(-1, true);                                      // (B, T, 1)
  auto dh = -(torch::matmul(p, m.zhat) - pc * m.u) / (cfg_.eqt.mem_tau * m.norm);  // (B, T, C)
  const double l = cfg_.eqt.lambda_mem;
  return {-l * lse.squeeze(-1), l * dh};
}

}  // namespace eqt::models
