// cli/solver_problems.cpp — see solver_problems.h.
#include "cli/solver_problems.h"

#include <fmt/format.h>

namespace eqt::cli {

Problem linear_problem(double radius, int64_t batch, int64_t dim, uint64_t seed) {
  torch::manual_seed(seed);
  auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  auto Q = std::get<0>(torch::linalg_qr(torch::randn({dim, dim}, opt)));  // (D, D) orthogonal
  auto eig = torch::linspace(-radius, radius, dim, opt);                      // (D,)
  auto A = Q.matmul(torch::diag(eig)).matmul(Q.t());                          // (D, D)
  auto b = torch::randn({batch, dim}, opt);                                   // (B, D)
  Problem p;
  p.name = fmt::format("linear-{}", radius);
  p.f = [A, b](const torch::Tensor& z) { return z.matmul(A.t()) + b; };
  p.z0 = torch::zeros({batch, dim}, opt);
  return p;
}

Problem tanh_net_problem(int64_t batch, int64_t width, int64_t hidden, uint64_t seed) {
  torch::manual_seed(seed);
  auto W1 = torch::randn({hidden, width});  // (H, D)
  auto W2 = torch::randn({width, hidden});  // (D, H)
  // Scale each to spectral norm sqrt(0.9): the map's Lipschitz constant is then <= 0.9.
  W1 = W1 * (std::sqrt(0.9) / torch::linalg_svdvals(W1).max().item<double>());
  W2 = W2 * (std::sqrt(0.9) / torch::linalg_svdvals(W2).max().item<double>());
  W1.requires_grad_(true);
  W2.requires_grad_(true);
  auto u = torch::randn({batch, hidden});  // (B, H) injection
  auto c = torch::randn({batch, width});   // (B, D)
  Problem p;
  p.name = "tanh-net";
  p.f = [W1, W2, u, c](const torch::Tensor& z) {
    return torch::tanh(z.matmul(W1.t()) + u).matmul(W2.t()) + c;
  };
  p.z0 = torch::zeros({batch, width});
  p.params = {W1, W2};
  p.tol = 1e-5;  // float32
  p.max_iter = 500;
  return p;
}

}  // namespace eqt::cli
