// eqt/nn/attention.h — multi-head self-attention with an optional key/value cache.
// q, k, v, o are bias-free projections; RoPE (if enabled) is applied to q and k, then the
// optional parameter-free QK RMS normalisation; scores are scaled by 1/sqrt(head dim).
// A query at absolute position p attends to keys at positions <= p (causal) or to all.
// Ragged batches (rows at different positions, decoded together): the cache is left-padded
// to its longest row and `offset` says how many of each row's first columns are padding;
// row b's column c is position c - offset_b, and its padding is never attended to.
#pragma once

#include <torch/torch.h>

namespace eqt::nn {

// Keys and values of earlier positions, per layer.
struct KVCache {
  torch::Tensor k;  // (B, H, P, hd)
  torch::Tensor v;  // (B, H, P, hd)
  torch::Tensor offset;  // (B,) int64 padding columns at the left of each row; undefined: none
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
  // x: (B, T, C) at columns past.length() ... (row b's positions: less past.offset_b);
  // past: read-only cache of earlier positions (may be null); present: if given, receives
  // past + this call's keys/values (and past's offset).
  torch::Tensor forward(const torch::Tensor& x, const KVCache* past = nullptr, KVCache* present = nullptr);

 private:
  AttentionOptions o_;
  torch::nn::Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, o_proj_{nullptr};  // (C, C) each
};
TORCH_MODULE(Attention);

}  // namespace eqt::nn
