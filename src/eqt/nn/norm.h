// eqt/nn/norm.h — RMSNorm and LayerNorm over the last dimension, one module for both.
// rms:   x / sqrt(mean(x^2) + eps) * w          (w learned, or absent for QK-norm)
// layer: (x - mean) / sqrt(var + eps) * w + b
// vjp(x, dy) is the closed-form vector-Jacobian product, for callers that differentiate
// without autograd (EqT's energy gradient at inference).
#pragma once

#include <torch/torch.h>

#include <string>

namespace eqt::nn {

constexpr double kNormEps = 1e-6;

// Parameter-free RMS normalisation over the last dimension.
inline torch::Tensor rms_normalize(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + kNormEps);
}

struct NormOptions {
  NormOptions(int64_t dim, std::string kind) : dim_(dim), kind_(std::move(kind)) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(std::string, kind);  // "rms" | "layer"
};

class NormImpl : public torch::nn::Module {
 public:
  explicit NormImpl(const NormOptions& o);
  torch::Tensor forward(const torch::Tensor& x);  // (..., C) -> (..., C)
  // x, dy: (..., C) -> dy^T d forward(x) / dx, (..., C).
  torch::Tensor vjp(const torch::Tensor& x, const torch::Tensor& dy);

 private:
  NormOptions o_;
  torch::Tensor weight_;  // (C,)
  torch::Tensor bias_;    // (C,) layer only
};
TORCH_MODULE(Norm);

}  // namespace eqt::nn
