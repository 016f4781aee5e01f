// tests/common/linear_map.h — linear fixed-point problems with closed-form answers.
// z = z A^T + b with A = Q diag(eig) Q^T (Q orthogonal, float64): the fixed point solves
// (I - A) z* = b, computed here by a direct linear solve, independent of any iteration.
#pragma once

#include <torch/torch.h>

#include <cstdio>

namespace eqt::test {

struct LinearMap {
  torch::Tensor A;       // (D, D)
  torch::Tensor b;       // (B, D)
  torch::Tensor z_star;  // (B, D) closed form
  torch::Tensor operator()(const torch::Tensor& z) const { return z.matmul(A.t()) + b; }
};

inline LinearMap linear_map(const torch::Tensor& eig, int64_t batch, uint64_t seed) {
  torch::manual_seed(seed);
  auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t D = eig.size(0);
  auto Q = std::get<0>(torch::linalg_qr(torch::randn({D, D}, opt)));
  LinearMap m;
  m.A = Q.matmul(torch::diag(eig.to(torch::kFloat64))).matmul(Q.t());
  m.b = torch::randn({batch, D}, opt);
  auto I = torch::eye(D, opt);
  m.z_star = torch::linalg_solve(I - m.A, m.b.t(), /*left=*/true).t();
  return m;
}

// Spectral radius r, eigenvalues spread evenly over [-r, r].
inline LinearMap linear_map(double radius, int64_t batch, int64_t dim, uint64_t seed) {
  return linear_map(torch::linspace(-radius, radius, dim, torch::kFloat64), batch, seed);
}

// max |a - b| / max |b|, printed so a failing run shows how far off it was.
inline double rel_err(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  double e = (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-300);
  std::printf("  %-40s max rel err %.3e\n", what, e);
  return e;
}

}  // namespace eqt::test
