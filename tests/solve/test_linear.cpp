// Every solver on linear contractions with a closed-form fixed point (float64).
#include "common/linear_map.h"
#include "eqt/solve/solver.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

const solve::Method kMethods[] = {solve::Method::Picard, solve::Method::Anderson,
                                  solve::Method::Broyden};

class LinearContraction : public ::testing::TestWithParam<std::tuple<solve::Method, double>> {};

TEST_P(LinearContraction, ReachesTolAndMatchesClosedForm) {
  auto [method, radius] = GetParam();
  auto m = test::linear_map(radius, /*batch=*/4, /*dim=*/32, /*seed=*/1);
  auto opts = solve::SolverOptions().method(method).tol(1e-11).max_iter(3000);
  auto r = solve::solve(m, torch::zeros_like(m.b), opts);
  std::printf("  %s radius %.2f: %lld fevals\n", solve::to_string(method).c_str(), radius,
              (long long)r.fevals);
  EXPECT_TRUE(r.all_converged());
  EXPECT_LT(r.rel_res.max().item<double>(), 1e-11);
  // ||z - z*|| <= ||f(z) - z|| / (1 - radius): 1e-11 residual -> ~2e-10 error at 0.95.
  EXPECT_LT(test::rel_err(r.z, m.z_star, "z vs (I - A)^-1 b"), 1e-8);
  EXPECT_FALSE(r.z.requires_grad());
}

INSTANTIATE_TEST_SUITE_P(AllSolvers, LinearContraction,
                         ::testing::Combine(::testing::ValuesIn(kMethods), ::testing::Values(0.5, 0.95)));

TEST(Anderson, HalvesPlainIterationOnRadius095) {
  auto m = test::linear_map(0.95, 4, 32, 2);
  auto base = solve::SolverOptions().tol(1e-6).max_iter(5000);
  auto plain = solve::solve(m, torch::zeros_like(m.b), solve::SolverOptions(base).method(solve::Method::Picard));
  auto anderson = solve::solve(m, torch::zeros_like(m.b), solve::SolverOptions(base).method(solve::Method::Anderson));
  std::printf("  fevals to rel 1e-6: picard %lld, anderson %lld\n", (long long)plain.fevals,
              (long long)anderson.fevals);
  ASSERT_TRUE(plain.all_converged());
  ASSERT_TRUE(anderson.all_converged());
  EXPECT_LE(2 * anderson.fevals, plain.fevals);
}

TEST(Picard, DampingConvergesWherePlainIterationCannot) {
  // Eigenvalues in [-1.4, 0.6]: plain iteration diverges; with tau = 0.5 the iteration
  // matrix 0.5 I + 0.5 A has eigenvalues in [-0.2, 0.8].
  auto m = test::linear_map(torch::linspace(-1.4, 0.6, 16, torch::kFloat64), 3, 3);
  auto opts = solve::SolverOptions().method(solve::Method::Picard).tol(1e-10).max_iter(500);
  auto plain = solve::solve(m, torch::zeros_like(m.b), opts);
  EXPECT_EQ(plain.count(solve::Status::Converged), 0);
  auto damped = solve::solve(m, torch::zeros_like(m.b), opts.damping(0.5));
  EXPECT_TRUE(damped.all_converged());
  EXPECT_LT(test::rel_err(damped.z, m.z_star, "damped z vs closed form"), 1e-8);
}

TEST(Anderson, MixingAndRidgeStillSolve) {
  auto m = test::linear_map(0.9, 2, 16, 4);
  for (double beta : {1.0, 0.5})
    for (double ridge : {0.0, 1e-4}) {
      auto opts = solve::SolverOptions().beta(beta).ridge(ridge).tol(1e-10).max_iter(2000);
      auto r = solve::solve(m, torch::zeros_like(m.b), opts);
      EXPECT_TRUE(r.all_converged()) << "beta " << beta << " ridge " << ridge;
      EXPECT_LT(test::rel_err(r.z, m.z_star, "anderson beta/ridge"), 1e-7);
    }
}

TEST(Solver, ResidualTracesAndStopModes) {
  auto m = test::linear_map(0.5, 3, 8, 5);
  auto r = solve::solve(m, torch::zeros_like(m.b),
                        solve::SolverOptions().method(solve::Method::Picard).tol(1e-8).stop_mode(solve::StopMode::Abs));
  ASSERT_EQ(r.abs_trace.size(0), r.fevals);
  ASSERT_EQ(r.abs_trace.size(1), 3);
  // The trace's first row is the residual of z0 = 0: ||f(0)|| = ||b||.
  test::rel_err(r.abs_trace[0], m.b.norm(2, 1), "trace[0] vs ||b||");
  EXPECT_TRUE(torch::allclose(r.abs_trace[0], m.b.norm(2, 1)));
  EXPECT_LT(r.abs_res.max().item<double>(), 1e-8);
  // Abs residual of the returned z, recomputed here.
  EXPECT_TRUE(torch::allclose(r.abs_res, (m(r.z) - r.z).norm(2, 1), 1e-6, 1e-15));
}

TEST(Solver, RejectsBadOptionsByName) {
  auto m = test::linear_map(0.5, 1, 4, 6);
  auto z0 = torch::zeros_like(m.b);
  try {
    solve::solve(m, z0, solve::SolverOptions().max_iter(0));
    FAIL() << "max_iter 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_iter"), std::string::npos) << e.what();
  }
  EXPECT_THROW(solve::solve(m, z0, solve::SolverOptions().damping(1.5)), std::invalid_argument);
  EXPECT_THROW(solve::method_from_string("newton"), std::invalid_argument);
  EXPECT_EQ(solve::method_from_string("broyden"), solve::Method::Broyden);
}

}  // namespace
