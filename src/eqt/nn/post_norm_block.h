// eqt/nn/post_norm_block.h — the recursive reasoner's block (TRM, REFERENCE 6): post-norm,
//   h = rms(h + mix(h)),   h = rms(h + mlp(h)),
// with parameter-free RMS norms, so a state that the block is applied to hundreds of times
// (cycles x supervision steps) stays at unit RMS per position. Token mixing is attention, or
// an MLP across positions for fixed-size puzzles: the input (B, T, C) is read as (B, C, T),
// an MLP of width T (hidden mlp_mult * T) mixes the positions of each channel, and that
// residual is normalised over the positions, as in TRM's MLP-t block.
// What it is not: the pre-norm Block of the other families (block.h), whose residual stream
// grows with depth, nor a decoder block: it has no KV cache.
#pragma once

#include "eqt/nn/attention.h"
#include "eqt/nn/mlp.h"

namespace eqt::nn {

struct PostNormBlockOptions {
  explicit PostNormBlockOptions(AttentionOptions attn) : attn_(std::move(attn)) {}
  TORCH_ARG(AttentionOptions, attn);
  TORCH_ARG(std::string, mixer) = "attention";  // attention | mlp (across positions)
  TORCH_ARG(int64_t, seq_len) = 0;              // mlp mixer: the one sequence length T it takes
  TORCH_ARG(std::string, mlp) = "relu2";        // the channel MLP's kind (mlp.h)
  TORCH_ARG(double, mlp_mult) = 4.0;            // hidden width / width, for both MLPs
};

// x * rsqrt(mean(x^2 over `dim`) + 1e-5), no weight (TRM's norm).
torch::Tensor rms_unit(const torch::Tensor& x, int64_t dim = -1);

class PostNormBlockImpl : public torch::nn::Module {
 public:
  explicit PostNormBlockImpl(const PostNormBlockOptions& o);
  torch::Tensor forward(const torch::Tensor& x);  // (B, T, C) -> (B, T, C)

 private:
  PostNormBlockOptions o_;
  Attention attn_{nullptr};
  MLP token_mlp_{nullptr};  // (T -> mlp_mult T -> T), mlp mixer
  MLP mlp_{nullptr};        // (C -> mlp_mult C -> C)
};
TORCH_MODULE(PostNormBlock);

}  // namespace eqt::nn
