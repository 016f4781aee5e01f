// eqt/models/energy.h — EqT's learned energy (REFERENCE 3), one value per position.
//
// e_t(h_t) = l_rev * rev_t + l_mask * m_t * mask_t + l_conf * conf_t, where
//   rev_t   reverse predictive coding: from h_t, predict the previous W tokens x_{t-1}, ...,
//           x_{t-W} one after another (teacher forced, as a reverse language model would):
//           target j (x_{t-1-j}) is predicted from h_t and x_{t-1}, ..., x_{t-j}. rev_t = mean
//           NLL over the j with t-1-j >= 0. Two predictors (eqt.reverse):
//             attention (default): logits_{t,j} = E (A h_t + P_j + o_{t,j}), o_{t,j} = attention
//               of the query Q h_t over keys / values of E[x_{t-1}] .. E[x_{t-j}] plus a null
//               slot (score 0, value 0), E the tied embedding. A source's key and its value
//               (already multiplied by E: vocabulary space) depend on its token alone, so
//               prepare makes them once per forward for the V tokens and gathers the
//               windows' values; an evaluation then costs O(T C^2 + T C V + T W V).
//             block (legacy, the form before 0.2): a causal Block with RoPE over the window
//               [A h_t, E[x_{t-1}], ..., E[x_{t-W+1}]], output j predicts x_{t-1-j}: a W-token
//               block per position per evaluation, ~W times the attention form's cost.
//   mask_t  a 2-layer MLP head (SiLU: smooth, so refinement can converge) predicts x_t from
//           h_t at the positions m_t = 1, a fixed pseudo-random subset of mask_ratio of the
//           positions (hash of t);
//   conf_t  entropy of p(.|h_t) minus log p(argmax | h_t), p from the model's own LM head.
//   mem_t   (eqt.memory, off by default) episodic memory coherence:
//             mem_t = -log sum_i r_i exp(cos(h_t, z_i) / tau)
//           over a bank of M unit keys z_i with weights r_i (sum 1), buffers mem_keys and
//           mem_weights: low where h_t lies near often-visited states. While training each
//           forward moves the bank by a moving average (update_memory); it is not a
//           parameter, so no gradient reaches it.
// Every term at t depends on h_t and tokens <= t only, so grad_h sum_t e_t moves h_t by
// its own energy: refinement stays causal (docs/models.md explains the choices).
// What it is not: a trained memory; the bank is the running summary of refined states.
#pragma once

#include "eqt/models/token_io.h"
#include "eqt/nn/block.h"

namespace eqt::models {

// What the energy needs of the tokens, independent of h: made once per forward, shared by
// every refinement step of every layer (and kept by the implicit backward).
struct EnergyContext {
  int64_t pos0 = 0, T = 0;
  torch::Tensor mask_idx;   // (n,) int64 the positions (0 .. T-1) where the masked-prediction term applies
  torch::Tensor mask_tgt;   // (B, n) int64 x_t at those positions
  torch::Tensor mask_w;     // ragged batch: (B, n) 1 where row b's position is one of the term's; else undefined
  torch::Tensor rev_tgt;    // (B, T, W) int64 x_{t-1-j} (clamped where it does not exist)
  torch::Tensor rev_valid;  // (T, W) 1 where t-1-j >= 0; (B, T, W) in a ragged batch
  torch::Tensor src_tok;    // attention: (B, T, W-1) int64 x_{t-i}, i = 1 .. W-1 (clamped)
  torch::Tensor keys;       // attention: (V, C) K E[v] for every token v
  torch::Tensor values;     // attention: (B, T, W-1, V) E V_proj E[x_{t-i}]: the values as logits
  torch::Tensor pos_logits; // attention: (W, V) E P_j
  torch::Tensor src_valid;  // attention: (T, W-1) bool, t-i >= 0; (B, T, W-1) in a ragged batch
  torch::Tensor past;       // block: (B, T, W-1, C) E[x_{t-i}], i = 1 .. W-1
};

class EnergyImpl : public torch::nn::Module {
 public:
  EnergyImpl(const ModelConfig& cfg, TokenIO io);
  // tokens: (B, pos0 + T) every token up to the last refined position; positions pos0 ..
  // pos0+T-1 are refined (pos0 > 0 in incremental decoding). offset: (B,) int64 in a ragged
  // batch (decode_cache.h): tokens are left-padded, row b's column c is position c - offset_b.
  // Builds a graph to the energy's parameters when grad mode is on.
  EnergyContext prepare(const torch::Tensor& tokens, int64_t pos0, int64_t T, const torch::Tensor& offset = {});
  // h: (B, T, C) at the context's positions -> (B, T) energies.
  torch::Tensor forward(const torch::Tensor& h, const EnergyContext& ctx);
  // The energies (B, T) and grad_h sum(e) (B, T, C) in closed form, without autograd and
  // without a graph (energy_grad.cpp): what refinement needs when nothing is differentiated
  // through it (inference, the implicit mode's forward steps), at about half autograd's
  // cost in small operations. The attention reverse predictor only (has_closed_form()).
  std::pair<torch::Tensor, torch::Tensor> value_and_grad(const torch::Tensor& h, const EnergyContext& ctx);
  bool has_closed_form() const { return cfg_.eqt.reverse == "attention"; }
  // eqt.memory: moves the bank toward the refined states hs (N, C), detached. Each state's
  // unit vector u_n goes to its nearest key (cosine); a key with states assigned becomes
  // m z_i + (1 - m) mean(u_n), renormalised, and r <- m r + (1 - m) (share of the states),
  // m = mem_momentum. Deterministic (no sampling).
  void update_memory(const torch::Tensor& hs);

 private:
  // The window attention's pieces that its closed-form adjoint reuses (W > 1).
  struct ReverseWindow {
    torch::Tensor w;    // (B, T, W-1) exp(score - m) per source
    torch::Tensor den;  // (B, T, W-1) exp(-m) + prefix sums of w
    torch::Tensor o;    // (B, T, W-1, V) the read-outs of targets 1 .. W-1
  };
  // Log-probabilities (B, T, W, V) of target j at position t; keep: the window's pieces.
  torch::Tensor reverse_attention(const torch::Tensor& h, const EnergyContext& ctx, ReverseWindow* keep = nullptr);
  torch::Tensor reverse_block(const torch::Tensor& h, const EnergyContext& ctx);
  // The terms' value (B, T) and gradient (B, T, C), each times its lambda (energy_grad.cpp).
  std::pair<torch::Tensor, torch::Tensor> reverse_value_and_grad(const torch::Tensor& h, const EnergyContext& ctx);
  std::pair<torch::Tensor, torch::Tensor> mask_value_and_grad(const torch::Tensor& h, const EnergyContext& ctx);
  std::pair<torch::Tensor, torch::Tensor> confidence_value_and_grad(const torch::Tensor& h);
  // The memory term's scores for h (B, T, C): s_i = cos(h, z_i) / tau + log r_i and the
  // pieces its gradient reuses; memory_value is -lambda_mem logsumexp_i s_i (forward's, with
  // autograd), memory_value_and_grad adds the closed-form gradient.
  struct MemoryScores {
    torch::Tensor zhat, norm, u, c, s;  // (M, C), (B, T, 1) ||h||, (B, T, C) h / ||h||, (B, T, M) cos, (B, T, M)
  };
  MemoryScores memory_scores(const torch::Tensor& h);
  torch::Tensor memory_value(const torch::Tensor& h);
  std::pair<torch::Tensor, torch::Tensor> memory_value_and_grad(const torch::Tensor& h);
  ModelConfig cfg_;
  TokenIO io_;  // shared with the model, not registered here (its parameters belong to "embed")
  torch::nn::Linear rev_in_{nullptr};  // (C, C) A
  torch::nn::Linear rev_q_{nullptr}, rev_k_{nullptr}, rev_v_{nullptr};  // attention: (C, C) each
  torch::Tensor rev_pos_;                                               // attention: (W, C) P_j
  nn::Block rev_block_{nullptr};                                        // block
  torch::nn::Linear mask_up_{nullptr}, mask_down_{nullptr};  // (C, C), (C, C)
  torch::Tensor mem_keys_, mem_weights_;                      // memory: (M, C) unit rows, (M,) summing to 1
};
TORCH_MODULE(Energy);

// (T,) float mask of positions pos0 .. pos0+T-1 in the masked-prediction term.
torch::Tensor masked_positions(int64_t pos0, int64_t T, double ratio, const torch::TensorOptions& opt);
// The same for int64 positions pos of any shape: a float mask of pos's shape.
torch::Tensor masked_positions(const torch::Tensor& pos, double ratio, const torch::TensorOptions& opt);

}  // namespace eqt::models
