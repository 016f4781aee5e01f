// Jacobian regulariser and spectral radius against closed forms on linear maps.
#include "common/linear_map.h"
#include "eqt/grad/jacobian.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

TEST(Hutchinson, EstimatesFrobeniusNormSquared) {
  auto m = test::linear_map(0.9, 2, 8, 21);  // f(z) = z A^T + b, J = A
  auto z = torch::randn({2, 8}, torch::kFloat64).requires_grad_(true);
  torch::manual_seed(0);
  auto est = grad::jacobian_frobenius_sq(m(z), z, /*n_vectors=*/20000, /*create_graph=*/false);
  auto exact = m.A.pow(2).sum().expand({2});
  // Relative standard deviation of the 20000-vector mean is below 1 %.
  EXPECT_LT(test::rel_err(est, exact, "Hutchinson vs ||A||_F^2"), 0.04);
}

TEST(Hutchinson, IsDifferentiableForUseAsARegulariser) {
  // d/dA E||A^T eps||^2 = 2 A: the estimate's gradient must approach it.
  auto m = test::linear_map(0.9, 1, 6, 22);
  auto A = m.A.clone().requires_grad_(true);
  auto z = torch::randn({1, 6}, torch::kFloat64).requires_grad_(true);
  torch::manual_seed(1);
  auto est = grad::jacobian_frobenius_sq(z.matmul(A.t()), z, 20000, /*create_graph=*/true);
  est.sum().backward();
  ASSERT_TRUE(A.grad().defined());
  EXPECT_LT(test::rel_err(A.grad(), 2 * m.A, "d estimate / dA vs 2A"), 0.05);
}

TEST(SpectralRadius, PowerIterationFindsTheDominantEigenvalue) {
  auto eig = torch::tensor({-0.9, 0.5, -0.4, 0.3, 0.2, -0.1}, torch::kFloat64);
  auto m = test::linear_map(eig, 3, 23);
  auto rho = grad::spectral_radius(m, torch::randn({3, 6}, torch::kFloat64), 60);
  EXPECT_LT(test::rel_err(rho, torch::full({3}, 0.9, torch::kFloat64), "power iteration vs 0.9"), 1e-8);
}

TEST(SpectralRadius, NonlinearMapMatchesEigenvaluesOfItsJacobian) {
  // f(z) = tanh(z W^T): J = diag(1 - f^2) W, whose eigenvalues LibTorch computes directly.
  torch::manual_seed(24);
  auto S = torch::randn({5, 5}, torch::kFloat64);
  auto W = S.matmul(torch::diag(torch::tensor({0.95, 0.4, 0.3, -0.2, 0.1}, torch::kFloat64)))
               .matmul(torch::linalg_inv(S));  // real, well separated eigenvalues
  auto f = [W](const torch::Tensor& z) { return torch::tanh(z.matmul(W.t())); };
  auto z = 0.1 * torch::randn({2, 5}, torch::kFloat64);
  auto rho = grad::spectral_radius(f, z, 200);
  for (int b = 0; b < 2; ++b) {
    auto J = (1 - f(z[b].unsqueeze(0)).pow(2)).t() * W;  // (5, 5)
    auto exact = torch::linalg_eigvals(J).abs().max().to(torch::kFloat64);
    EXPECT_LT(test::rel_err(rho[b], exact, "power iteration vs eigvals(J)"), 1e-6);
  }
}

}  // namespace
