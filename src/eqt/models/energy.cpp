// eqt/models/energy.cpp — see energy.h.
#include "eqt/models/energy.h"

namespace eqt::models {

torch::Tensor masked_positions(int64_t pos0, int64_t T, double ratio, const torch::TensorOptions& opt) {
  // Knuth's multiplicative hash of the position, as a fraction of 2^32.
  auto t = torch::arange(pos0, pos0 + T, torch::kInt64);
  auto frac = ((t * int64_t(2654435761)) % int64_t(4294967296)).to(torch::kFloat64) / 4294967296.0;
  return (frac < ratio).to(opt.dtype().toScalarType()).to(opt.device());
}

EnergyImpl::EnergyImpl(const ModelConfig& cfg, TokenIO io) : cfg_(cfg), io_(std::move(io)) {
  const int64_t C = cfg.d_model;
  auto lin = [&](const char* name) {
    return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(C, C).bias(false)));
  };
  rev_in_ = lin("rev_in");
  nn::BlockOptions bo(C, cfg.n_heads);
  bo.attn().causal(true).rope(true).qk_norm(cfg.qk_norm);
  bo.norm(cfg.norm).mlp(cfg.mlp).mlp_mult(cfg.mlp_mult);
  rev_block_ = register_module("rev_block", nn::Block(bo));
  mask_up_ = lin("mask_up");
  mask_down_ = lin("mask_down");
}

torch::Tensor EnergyImpl::forward(const torch::Tensor& h, const torch::Tensor& tokens, int64_t pos0) {
  const int64_t B = h.size(0), T = h.size(1), C = h.size(2), W = cfg_.eqt_rev_window;
  TORCH_CHECK(tokens.size(1) == pos0 + T, "energy: ", tokens.size(1), " tokens for positions up to ", pos0 + T);
  auto lopt = torch::TensorOptions().dtype(torch::kInt64).device(h.device());
  torch::Tensor e = torch::zeros({B, T}, h.options());

  if (cfg_.eqt_lambda_rev != 0) {
    // Sequence per position t: [A h_t, E[x_{t-1}], ..., E[x_{t-W+1}]]; output j predicts x_{t-1-j}.
    auto t = torch::arange(pos0, pos0 + T, lopt).unsqueeze(1);          // (T, 1) absolute
    auto j = torch::arange(W, lopt).unsqueeze(0);                       // (1, W)
    auto src = (t - j).clamp_min(0);                                    // (T, W): col j>=1 feeds x_{t-j}
    auto tgt_pos = t - 1 - j;                                           // (T, W)
    auto valid = (tgt_pos >= 0).to(h.scalar_type());                    // (T, W)
    auto past = io_->table().index({tokens.index({torch::indexing::Slice(), src.flatten()})})
                    .view({B, T, W, C});                                // (B, T, W, C)
    auto seq = torch::cat({rev_in_(h).unsqueeze(2), past.narrow(2, 1, W - 1)}, 2);  // (B, T, W, C)
    auto out = rev_block_(seq.view({B * T, W, C}));                     // (B*T, W, C)
    auto logp = torch::log_softmax(io_->logits(out), -1).view({B, T, W, -1});      // (B, T, W, V)
    auto tgt = tokens.index({torch::indexing::Slice(), tgt_pos.clamp_min(0).flatten()}).view({B, T, W});
    auto nll = -logp.gather(3, tgt.unsqueeze(3)).squeeze(3);            // (B, T, W)
    auto rev = (nll * valid).sum(2) / valid.sum(1).clamp_min(1.0);     // (B, T)
    e = e + cfg_.eqt_lambda_rev * rev;
  }
  if (cfg_.eqt_lambda_mask != 0) {
    auto logp = torch::log_softmax(io_->logits(mask_down_(torch::silu(mask_up_(h)))), -1);  // (B, T, V)
    auto own = tokens.narrow(1, pos0, T);                                                   // (B, T) x_t
    auto nll = -logp.gather(2, own.unsqueeze(2)).squeeze(2);                                // (B, T)
    e = e + cfg_.eqt_lambda_mask * nll * masked_positions(pos0, T, cfg_.eqt_mask_ratio, h.options());
  }
  if (cfg_.eqt_lambda_conf != 0) {
    auto logp = torch::log_softmax(io_->logits(h), -1);         // (B, T, V)
    auto entropy = -(logp.exp() * logp).sum(-1);                // (B, T)
    auto top = std::get<0>(logp.max(-1));                       // (B, T) log p(argmax)
    e = e + cfg_.eqt_lambda_conf * (entropy - top);
  }
  return e;
}

}  // namespace eqt::models
