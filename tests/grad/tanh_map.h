// tests/grad/tanh_map.h — a small float64 nonlinear contraction with trainable parameters:
// f(z) = tanh(z W^T + x U^T + b), z (B, D), x (B, E) the injection. Its Jacobian is known in
// closed form, J_b = diag(1 - f_b^2) W, which the gradient tests use as their reference.
#pragma once

#include <torch/torch.h>

namespace eqt::test {

struct TanhMap {
  torch::Tensor W, U, b, x;  // (D, D), (D, E), (D,), (B, E); all require grad
  torch::Tensor operator()(const torch::Tensor& z) const {
    return torch::tanh(z.matmul(W.t()) + x.matmul(U.t()) + b);
  }
  std::vector<torch::Tensor> params() const { return {W, U, b, x}; }
  // (B, D, D) Jacobian df/dz at z, from the closed form.
  torch::Tensor jacobian(const torch::Tensor& z) const {
    torch::NoGradGuard ng;
    auto d = 1 - (*this)(z).pow(2);                // (B, D)
    return d.unsqueeze(2) * W.unsqueeze(0);        // (B, D, D)
  }
};

inline TanhMap tanh_map(int64_t B, int64_t D, int64_t E, double w_norm, uint64_t seed) {
  torch::manual_seed(seed);
  auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  auto W = torch::randn({D, D}, opt);
  W = W * (w_norm / torch::linalg_svdvals(W).max().item<double>());  // ||W||_2 = w_norm
  TanhMap m{W, 0.5 * torch::randn({D, E}, opt), 0.3 * torch::randn({D}, opt), torch::randn({B, E}, opt)};
  for (auto& p : m.params()) p.requires_grad_(true);
  return m;
}

}  // namespace eqt::test
