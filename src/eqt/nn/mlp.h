// eqt/nn/mlp.h — the position-wise feed-forward layer, bias-free.
// relu2:  W2 (0.5 * relu(W1 x)^2)          (REFERENCE 2)
// swiglu: W2 (silu(W1 x) * W3 x)
// gelu:   W2 gelu(W1 x)                    (exact erf GELU: the Attractor reference code's default)
#pragma once

#include <torch/torch.h>

#include <string>

namespace eqt::nn {

struct MLPOptions {
  MLPOptions(int64_t d_model, int64_t hidden, std::string kind)
      : d_model_(d_model), hidden_(hidden), kind_(std::move(kind)) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(std::string, kind);  // "relu2" | "swiglu" | "gelu"
};

class MLPImpl : public torch::nn::Module {
 public:
  explicit MLPImpl(const MLPOptions& o);
  torch::Tensor forward(const torch::Tensor& x);  // (..., C) -> (..., C)

 private:
  MLPOptions o_;
  torch::nn::Linear up_{nullptr}, gate_{nullptr}, down_{nullptr};  // (Hd, C), (Hd, C), (C, Hd)
};
TORCH_MODULE(MLP);

}  // namespace eqt::nn
