// eqt/infer/sampler.h — picks the next token from a row of logits.
//
// Temperature T scales the logits (p ∝ exp(logit / T)); T = 0 is greedy (argmax). top-k
// keeps the k most likely tokens, top-p the smallest set of most likely tokens whose mass
// reaches p (always at least one); what is kept is renormalised. The draw is inverse-CDF
// sampling with a 53-bit uniform from std::mt19937_64 seeded by `seed`, so a seed gives the
// same tokens on every machine and LibTorch version.
// What it is not: a beam search or a batch sampler (one row at a time).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>

namespace eqt::infer {

struct SamplingOptions {
  TORCH_ARG(double, temperature) = 1.0;  // 0: greedy
  TORCH_ARG(int64_t, top_k) = 0;         // 0: all tokens
  TORCH_ARG(double, top_p) = 1.0;        // 1: all tokens
  TORCH_ARG(uint64_t, seed) = 0;
};

// Throws std::invalid_argument naming the bad option, its value and what is accepted.
void validate(const SamplingOptions& o);

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& o);
  // logits: (V,) -> token id.
  int64_t sample(const torch::Tensor& logits);
  // The distribution sample() draws from (one-hot at the argmax when greedy): (V,) float64.
  torch::Tensor distribution(const torch::Tensor& logits) const;

 private:
  SamplingOptions o_;
  std::mt19937_64 rng_;
};

}  // namespace eqt::infer
