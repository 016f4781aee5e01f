// eqt/models/energy.h — EqT's learned energy (REFERENCE 3), one value per position.
//
// e_t(h_t) = l_rev * rev_t + l_mask * m_t * mask_t + l_conf * conf_t, where
//   rev_t   a small reverse transformer reads [A h_t, E[x_{t-1}], ..., E[x_{t-W+1}]] (causal,
//           RoPE) and its output j predicts x_{t-1-j}; rev_t = mean NLL over j with t-1-j >= 0;
//   mask_t  a 2-layer MLP head (SiLU: smooth, so refinement can converge) predicts x_t from
//           h_t at the positions m_t = 1, a fixed
//           pseudo-random subset of mask_ratio of the positions (hash of t);
//   conf_t  entropy of p(.|h_t) minus log p(argmax | h_t), p from the model's own LM head.
// Every term at t depends on h_t and tokens <= t only, so grad_h sum_t e_t moves h_t by
// its own energy: refinement stays causal (docs/models.md explains the choice).
// What it is not: the memory term (optional in the paper, not implemented).
#pragma once

#include "eqt/models/token_io.h"
#include "eqt/nn/block.h"

namespace eqt::models {

class EnergyImpl : public torch::nn::Module {
 public:
  EnergyImpl(const ModelConfig& cfg, TokenIO io);
  // h: (B, T, C) at positions pos0 .. pos0+T-1, tokens: (B, pos0 + T) every token up to the
  // last of them -> (B, T) energies. pos0 > 0 in incremental decoding.
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& tokens, int64_t pos0 = 0);

 private:
  ModelConfig cfg_;
  TokenIO io_;  // shared with the model, not registered here (its parameters belong to "embed")
  torch::nn::Linear rev_in_{nullptr};  // (C, C)
  nn::Block rev_block_{nullptr};
  torch::nn::Linear mask_up_{nullptr}, mask_down_{nullptr};  // (C, C), (C, C)
};
TORCH_MODULE(Energy);

// (T,) float mask of positions pos0 .. pos0+T-1 in the masked-prediction term.
torch::Tensor masked_positions(int64_t pos0, int64_t T, double ratio, const torch::TensorOptions& opt);

}  // namespace eqt::models
