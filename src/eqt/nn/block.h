// eqt/nn/block.h — the pre-norm transformer block every family is built from:
//   x = x + g_a * Attn(Norm(x));  x = x + g_m * MLP(Norm(x))
// with optional per-channel output gates g = sigmoid(raw) * gamma_max (REFERENCE 2's
// attractor head); without gates g = 1. BlockStack applies several in sequence.
#pragma once

#include "eqt/nn/attention.h"
#include "eqt/nn/mlp.h"
#include "eqt/nn/norm.h"

#include <vector>

namespace eqt::nn {

struct BlockOptions {
  BlockOptions(int64_t d_model, int64_t n_heads) : attn_(d_model, n_heads) {}
  TORCH_ARG(AttentionOptions, attn);
  TORCH_ARG(std::string, norm) = "rms";
  TORCH_ARG(std::string, mlp) = "relu2";
  TORCH_ARG(double, mlp_mult) = 4.0;
  TORCH_ARG(bool, gates) = false;
  TORCH_ARG(double, gamma_max) = 0.75;
};

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const BlockOptions& o);
  // x: (B, T, C); past / present as for Attention.
  torch::Tensor forward(const torch::Tensor& x, const KVCache* past = nullptr, KVCache* present = nullptr);

 private:
  BlockOptions o_;
  Norm norm_attn_{nullptr}, norm_mlp_{nullptr};
  Attention attn_{nullptr};
  MLP mlp_{nullptr};
  torch::Tensor gate_attn_, gate_mlp_;  // (C,) raw gate logits
};
TORCH_MODULE(Block);

class BlockStackImpl : public torch::nn::Module {
 public:
  BlockStackImpl(const BlockOptions& o, int64_t n);
  // past: one cache per block (size n), or empty / null for none; present, if given,
  // receives one cache per block (past + this call's keys and values).
  torch::Tensor forward(torch::Tensor x, const std::vector<KVCache>* past = nullptr,
                        std::vector<KVCache>* present = nullptr);
  int64_t size() const { return int64_t(blocks_.size()); }

 private:
  std::vector<Block> blocks_;
};
TORCH_MODULE(BlockStack);

}  // namespace eqt::nn
