// Batched conjugate gradient against a direct solve; indefinite systems are reported.
#include "common/linear_map.h"
#include "eqt/solve/conjugate_gradient.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

TEST(ConjugateGradient, SolvesSPDSystemsPerSample) {
  torch::manual_seed(31);
  const int64_t B = 3, D = 20;
  auto M = torch::randn({B, D, D}, torch::kFloat64);
  auto A = torch::bmm(M, M.transpose(1, 2)) + 0.5 * torch::eye(D, torch::kFloat64);  // (B, D, D) SPD
  auto b = torch::randn({B, D}, torch::kFloat64);
  auto apply = [&](const torch::Tensor& x) { return torch::bmm(A, x.unsqueeze(2)).squeeze(2); };
  auto r = solve::conjugate_gradient(apply, b, 200, 1e-12);
  auto exact = torch::linalg_solve(A, b.unsqueeze(2), true).squeeze(2);
  EXPECT_LT(test::rel_err(r.x, exact, "CG vs direct solve"), 1e-8);
  EXPECT_LT(r.rel_res.max().item<double>(), 1e-12);
  EXPECT_EQ(r.indefinite, 0);
}

TEST(ConjugateGradient, StopsOnNegativeCurvature) {
  auto A = torch::diag(torch::tensor({1.0, -2.0, 3.0}, torch::kFloat64));
  auto apply = [&](const torch::Tensor& x) { return x.matmul(A); };
  auto b = torch::tensor({{0.0, 1.0, 0.0}}, torch::kFloat64);
  auto r = solve::conjugate_gradient(apply, b, 10, 1e-12);
  EXPECT_EQ(r.indefinite, 1);
  EXPECT_TRUE(torch::isfinite(r.x).all().item<bool>());
}

}  // namespace
