// eqt/models/energy.cpp — see energy.h.
#include "eqt/models/energy.h"

#include <cmath>

namespace eqt::models {
namespace {
using torch::indexing::Slice;
}

torch::Tensor masked_positions(int64_t pos0, int64_t T, double ratio, const torch::TensorOptions& opt) {
  return masked_positions(torch::arange(pos0, pos0 + T, torch::kInt64), ratio, opt);
}

torch::Tensor masked_positions(const torch::Tensor& pos, double ratio, const torch::TensorOptions& opt) {
  // Knuth's multiplicative hash of the position, as a fraction of 2^32.
  auto t = pos.to(torch::kCPU, torch::kInt64);
  auto frac = ((t * int64_t(2654435761)) % int64_t(4294967296)).to(torch::kFloat64) / 4294967296.0;
  return (frac < ratio).to(opt.dtype().toScalarType()).to(opt.device());
}

EnergyImpl::EnergyImpl(const ModelConfig& cfg, TokenIO io) : cfg_(cfg), io_(std::move(io)) {
  const int64_t C = cfg.block.d_model;
  auto lin = [&](const char* name) {
    return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(C, C).bias(false)));
  };
  rev_in_ = lin("rev_in");
  if (cfg.eqt.reverse == "attention") {
    rev_q_ = lin("rev_q");
    rev_k_ = lin("rev_k");
    rev_v_ = lin("rev_v");
    rev_pos_ = register_parameter("rev_pos", torch::randn({cfg.eqt.rev_window, C}) * cfg.block.init_std);
  } else {
    nn::BlockOptions bo(C, cfg.block.n_heads);
    bo.attn().causal(true).rope(true).qk_norm(cfg.block.qk_norm);
    bo.norm(cfg.block.norm).mlp(cfg.block.mlp).mlp_mult(cfg.block.mlp_mult);
    rev_block_ = register_module("rev_block", nn::Block(bo));
  }
  mask_up_ = lin("mask_up");
  mask_down_ = lin("mask_down");
  if (cfg.eqt.memory) {  // random unit keys, equal weights: no state has been visited yet
    const int64_t M = cfg.eqt.mem_slots;
    auto z = torch::randn({M, C});
    mem_keys_ = register_buffer("mem_keys", z / z.norm(2, 1, true).clamp_min(1e-12));
    mem_weights_ = register_buffer("mem_weights", torch::full({M}, 1.0 / double(M)));
  }
}

EnergyImpl::MemoryScores EnergyImpl::memory_scores(const torch::Tensor& h) {
  MemoryScores m;
  auto z = mem_keys_.to(h.scalar_type());
  m.zhat = z / z.norm(2, 1, true).clamp_min(1e-12);                              // (M, C)
  m.norm = h.norm(2, -1, true).clamp_min(1e-12);                                 // (B, T, 1)
  m.u = h / m.norm;                                                              // (B, T, C)
  m.c = torch::matmul(m.u, m.zhat.t());                                          // (B, T, M)
  m.s = m.c / cfg_.eqt.mem_tau + mem_weights_.to(h.scalar_type()).clamp_min(1e-12).log();
  return m;
}

torch::Tensor EnergyImpl::memory_value(const torch::Tensor& h) {
  return -cfg_.eqt.lambda_mem * torch::logsumexp(memory_scores(h).s, -1);  // mem = -logsumexp_i s_i
}

void EnergyImpl::update_memory(const torch::Tensor& hs) {
  TORCH_CHECK(mem_keys_.defined(), "energy: update_memory without eqt.memory");
  torch::NoGradGuard ng;
  const double m = cfg_.eqt.mem_momentum;
  auto u = hs.detach().to(mem_keys_.device(), torch::kFloat32).reshape({-1, mem_keys_.size(1)});  // (N, C)
  const int64_t N = u.size(0), M = mem_keys_.size(0);
  if (N == 0) return;
  u = u / u.norm(2, 1, true).clamp_min(1e-12);
  auto nearest = torch::matmul(u, mem_keys_.t()).argmax(1);                     // (N,)
  auto sums = torch::zeros_like(mem_keys_).index_add_(0, nearest, u);           // (M, C)
  auto counts = torch::zeros({M}, mem_keys_.options()).index_add_(0, nearest, torch::ones({N}, u.options()));
  auto hit = counts.gt(0).unsqueeze(1);                                          // (M, 1)
  auto moved = m * mem_keys_ + (1 - m) * sums / counts.clamp_min(1).unsqueeze(1);
  moved = moved / moved.norm(2, 1, true).clamp_min(1e-12);
  // Fresh tensors copied in: a graph built in this forward saved z / ||z||, not z itself.
  mem_keys_.copy_(torch::where(hit, moved, mem_keys_));
  mem_weights_.copy_(m * mem_weights_ + (1 - m) * counts / double(N));
}

EnergyContext EnergyImpl::prepare(const torch::Tensor& tokens, int64_t pos0, int64_t T, const torch::Tensor& offset) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.size(1) == pos0 + T, "energy: ", tokens.size(1),
              " tokens for positions up to ", pos0 + T);
  const int64_t B = tokens.size(0), W = cfg_.eqt.rev_window, C = cfg_.block.d_model;
  const auto dev = tokens.device();
  const auto fopt = io_->table().options();
  auto lopt = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  EnergyContext ctx;
  ctx.pos0 = pos0;
  ctx.T = T;
  auto col = torch::arange(pos0, pos0 + T, lopt);  // (T,) columns of the refined positions in tokens
  // Absolute positions: the columns, or in a ragged batch each row's columns less its padding.
  auto t = offset.defined() ? col.unsqueeze(0) - offset.to(dev).unsqueeze(1) : col;  // (T,) or (B, T)
  if (offset.defined()) {
    // Rows differ in which positions the masked-prediction term covers: it runs at every
    // position, weighted 0 / 1 per row (a decode step has T = 1: nothing to skip).
    ctx.mask_idx = torch::arange(T, lopt);
    ctx.mask_w = masked_positions(t, cfg_.eqt.mask_ratio, fopt);  // (B, T)
  } else {
    // The masked-prediction head runs at its positions only (~mask_ratio of them).
    ctx.mask_idx = masked_positions(pos0, T, cfg_.eqt.mask_ratio, torch::TensorOptions(torch::kFloat32))
                       .nonzero()
                       .flatten()
                       .to(dev);
  }
  ctx.mask_tgt = tokens.narrow(1, pos0, T).index_select(1, ctx.mask_idx);
  if (cfg_.eqt.lambda_rev == 0) return ctx;
  auto j = torch::arange(W, lopt);                             // (W,) target offsets
  auto tgt_col = col.unsqueeze(1) - 1 - j.unsqueeze(0);        // (T, W) column of x_{t-1-j}
  ctx.rev_valid = (t.unsqueeze(-1) - 1 - j >= 0).to(fopt.dtype());  // (T, W) or (B, T, W)
  ctx.rev_tgt = tokens.index({Slice(), tgt_col.clamp_min(0).flatten()}).view({B, T, W});
  if (cfg_.eqt.reverse == "attention") ctx.pos_logits = torch::matmul(rev_pos_, io_->table().t());  // (W, V)
  if (W == 1) return ctx;  // one target, predicted from h_t alone: no window of sources
  auto i = torch::arange(1, W, lopt);                          // (W-1,) source offsets
  auto src_col = col.unsqueeze(1) - i.unsqueeze(0);            // (T, W-1) column of x_{t-i}
  auto src_tok = tokens.index({Slice(), src_col.clamp_min(0).flatten()});  // (B, T*(W-1))
  if (cfg_.eqt.reverse == "attention") {
    const auto& E = io_->table();                                   // (V, C)
    ctx.src_valid = t.unsqueeze(-1) - i >= 0;                       // (T, W-1) or (B, T, W-1)
    ctx.src_tok = src_tok.view({B, T, W - 1});
    ctx.keys = rev_k_(E);                                           // (V, C)
    auto vv = torch::matmul(rev_v_(E), E.t());                      // (V, V) value of token u, as logits
    ctx.values = vv.index({ctx.src_tok});                           // (B, T, W-1, V)
  } else {
    ctx.past = io_->table().index({src_tok}).view({B, T, W - 1, C});
  }
  return ctx;
}

torch::Tensor EnergyImpl::reverse_attention(const torch::Tensor& h, const EnergyContext& ctx, ReverseWindow* keep) {
  const int64_t C = h.size(2), W = cfg_.eqt.rev_window;
  const auto& E = io_->table();                                                        // (V, C)
  auto logits = torch::matmul(rev_in_(h), E.t()).unsqueeze(2) + ctx.pos_logits;        // (B, T, W, V)
  if (W > 1) {
    // Target j sees the sources i = 1 .. j: a softmax over them and a null slot (score 0,
    // value 0). With a shift m >= every score, its numerator and denominator are prefix sums
    // over i, so all W targets cost one pass over the window instead of W.
    auto qk = torch::matmul(rev_q_(h) / std::sqrt(double(C)), ctx.keys.t());       // (B, T, V) score per token
    auto s = qk.gather(2, ctx.src_tok);                                            // (B, T, W-1)
    s = s.masked_fill(ctx.src_valid.logical_not(), -1e9);  // exp underflows to 0, never inf * 0
    auto m = std::get<0>(s.max(-1, /*keepdim=*/true)).clamp_min(0).detach();      // (B, T, 1)
    auto w = (s - m).exp();                                                        // (B, T, W-1)
    auto num = (w.unsqueeze(-1) * ctx.values).cumsum(2);                           // (B, T, W-1, V)
    auto den = (-m).exp() + w.cumsum(2);                                           // (B, T, W-1)
    // A prefix whose scores all lie a gap g below m has num and den ~exp(-g): their quotient
    // is fine, but autograd's d/d den = -num / den^2 overflows float32 once g > ~44 (den^2 <
    // 1e-38; an EqT maze run reached g = 46 at step 225 and went NaN). Rescaling prefix k by
    // exp(m - c_k), c_k = max(0, max_{i<=k} s_i) — a constant, so the quotient is unchanged —
    // makes its denominator >= 1 (the null slot or its best source contributes exp(0)); what
    // remains is float32's forward range, g < ~87.
    auto c = std::get<0>(s.detach().cummax(2)).clamp_min(0);                      // (B, T, W-1)
    auto scale = (m - c).exp();                                                    // (B, T, W-1) >= 1
    auto o = (num * scale.unsqueeze(-1)) / (den * scale).unsqueeze(-1);           // targets 1 .. W-1
    logits = logits + torch::cat({torch::zeros_like(o.narrow(2, 0, 1)), o}, 2);   // target 0: no source
    if (keep) *keep = {w, den, o};
  }
  return torch::log_softmax(logits, -1);
}

torch::Tensor EnergyImpl::reverse_block(const torch::Tensor& h, const EnergyContext& ctx) {
  const int64_t B = h.size(0), T = h.size(1), C = h.size(2), W = cfg_.eqt.rev_window;
  auto first = rev_in_(h).unsqueeze(2);                                          // (B, T, 1, C)
  auto seq = W == 1 ? first : torch::cat({first, ctx.past}, 2);                  // (B, T, W, C)
  return torch::log_softmax(io_->logits(rev_block_(seq.reshape({B * T, W, C})).view({B, T, W, C})), -1);
}

torch::Tensor EnergyImpl::forward(const torch::Tensor& h, const EnergyContext& ctx) {
  const int64_t B = h.size(0), T = h.size(1);
  TORCH_CHECK(T == ctx.T, "energy: h has ", T, " positions, the context ", ctx.T);
  torch::Tensor e = torch::zeros({B, T}, h.options());
  if (cfg_.eqt.lambda_rev != 0) {
    auto logp = cfg_.eqt.reverse == "attention" ? reverse_attention(h, ctx) : reverse_block(h, ctx);  // (B, T, W, V)
    auto nll = -logp.gather(3, ctx.rev_tgt.unsqueeze(3)).squeeze(3);                               // (B, T, W)
    auto rev = (nll * ctx.rev_valid).sum(2) / ctx.rev_valid.sum(-1).clamp_min(1.0);                // (B, T)
    e = e + cfg_.eqt.lambda_rev * rev;
  }
  if (cfg_.eqt.lambda_mask != 0 && ctx.mask_idx.numel() > 0) {
    auto hm = h.index_select(1, ctx.mask_idx);                                                  // (B, n, C)
    auto logp = torch::log_softmax(io_->logits(mask_down_(torch::silu(mask_up_(hm)))), -1);    // (B, n, V)
    auto nll = -logp.gather(2, ctx.mask_tgt.unsqueeze(2)).squeeze(2);                           // (B, n)
    if (ctx.mask_w.defined()) nll = nll * ctx.mask_w;
    e = e.index_add(1, ctx.mask_idx, (cfg_.eqt.lambda_mask * nll).to(e.scalar_type()));  // bf16 autocast: nll may be lower
  }
  if (cfg_.eqt.lambda_conf != 0) {
    auto logp = torch::log_softmax(io_->logits(h), -1);  // (B, T, V)
    auto entropy = -(logp.exp() * logp).sum(-1);         // (B, T)
    auto top = std::get<0>(logp.max(-1));                // (B, T) log p(argmax)
    e = e + cfg_.eqt.lambda_conf * (entropy - top);
  }
  if (cfg_.eqt.memory && cfg_.eqt.lambda_mem != 0) e = e + memory_value(h);
  return e;
}

}  // namespace eqt::models
