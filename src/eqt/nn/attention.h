// eqt/nn/attention.h — multi-head self-attention with an optional key/value cache.
// q, k, v, o are bias-free projections; RoPE (if enabled) is applied to q and k, then the
// optional parameter-free QK RMS normalisation; scores are scaled by 1/sqrt(head dim).
// A query at absolute position p attends to keys at positions <= p (causal) or to all.
#pragma once

#include <torch/torch.h>

namespace eqt::nn {

// Keys and values of earlier positions, per layer.
struct KVCache {
  torch::Tensor k;  // (B, H, P, hd)
  torch::Tensor v;  // (B, H, P, hd)
  int64_t length() const { return k.defined() ? k.size(2) : 0; }
};

struct AttentionOptions {
  AttentionOptions(int64_t d_model, int64_t n_heads) : d_model_(d_model), n_heads_(n_heads) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, n_heads);
  TORCH_ARG(bool, causal) = true;
  TORCH_ARG(bool, rope) = true;
  TORCH_ARG(double, rope_base) = 10000.0;
  TORCH_ARG(bool, qk_norm) = true;
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& o);
  // x: (B, T, C) at positions past.length() ... ; past: read-only cache of earlier
  // positions (may be null); present: if given, receives past + this call's keys/values.
  torch::Tensor forward(const torch::Tensor& x, const KVCache* past = nullptr, KVCache* present = nullptr);

 private:
  AttentionOptions o_;
  torch::nn::Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, o_proj_{nullptr};  // (C, C) each
};
TORCH_MODULE(Attention);

}  // namespace eqt::nn
