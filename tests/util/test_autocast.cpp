// Mixed-precision scopes: autocast turns float32 matrix products into bfloat16 inside an
// AutocastScope and not after it or inside NoAutocast; and the solver's own arithmetic is
// untouched by autocast: solving a map whose evaluation autocast cannot touch (float64
// products) under bf16 autocast gives bit for bit the iterates, steps and residuals of the
// solve without it (Anderson's float32 Gram matrix would otherwise be a bfloat16 product).
#include "eqt/solve/solver.h"
#include "eqt/util/autocast.h"

#include <gtest/gtest.h>

using namespace eqt;

TEST(Autocast, ScopesSwitchMatrixProductsAndRestore) {
  auto a = torch::randn({4, 8}), b = torch::randn({8, 3});
  EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
  {
    util::AutocastScope on(torch::kCPU, true);
    EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
    {
      util::NoAutocast off;
      EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
    }
    EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
    {
      util::AutocastScope fp32(torch::kCPU, false);
      EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
    }
  }
  EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
  EXPECT_EQ(util::parse_precision("bf16"), util::Precision::BF16);
  EXPECT_THROW(util::parse_precision("fp16"), std::invalid_argument);
}

TEST(Autocast, TheSolversArithmeticStaysInFullPrecision) {
  torch::manual_seed(0);
  const int64_t B = 6, D = 24;
  auto W = torch::randn({D, D}, torch::kFloat64);
  W = W * (0.9 / torch::linalg_svdvals(W).max().item<double>());
  auto c = torch::randn({B, D});
  // f(z) = tanh(z W^T + c), its product in float64: autocast leaves it alone.
  solve::Map f = [&](const torch::Tensor& z) { return torch::tanh(z.to(torch::kFloat64).matmul(W.t())).to(torch::kFloat32) + c; };
  auto o = solve::SolverOptions().method(solve::Method::Anderson).tol(1e-6).max_iter(100);
  auto plain = solve::solve(f, torch::zeros({B, D}), o);
  solve::SolveResult mixed;
  {
    util::AutocastScope on(torch::kCPU, true);
    mixed = solve::solve(f, torch::zeros({B, D}), o);
  }
  const double diff = (plain.z - mixed.z).abs().max().item<double>();
  std::printf("  Anderson under bf16 autocast vs without: max |z difference| = %.3e, steps %lld vs %lld\n", diff,
              (long long)plain.steps.max().item<int64_t>(), (long long)mixed.steps.max().item<int64_t>());
  EXPECT_EQ(mixed.z.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(plain.all_converged());
  EXPECT_EQ(diff, 0.0);
  EXPECT_TRUE(torch::equal(plain.steps, mixed.steps));
  EXPECT_TRUE(torch::equal(plain.rel_trace, mixed.rel_trace));
}
