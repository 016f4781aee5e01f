// Divergent and NaN-producing maps are reported per sample: never a crash, never a NaN.
#include "common/linear_map.h"
#include "eqt/solve/solver.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

const solve::Method kMethods[] = {solve::Method::Picard, solve::Method::Anderson,
                                  solve::Method::Broyden};

TEST(Divergence, PlainIterationOnRadius15IsDiverged) {
  auto m = test::linear_map(1.5, 4, 16, 11);
  auto r = solve::solve(m, torch::zeros_like(m.b),
                        solve::SolverOptions().method(solve::Method::Picard).tol(1e-8).max_iter(200));
  std::printf("  picard radius 1.5: %lld diverged of 4, after %lld fevals\n",
              (long long)r.count(solve::Status::Diverged), (long long)r.fevals);
  EXPECT_EQ(r.count(solve::Status::Diverged), 4);
  EXPECT_TRUE(torch::isfinite(r.z).all().item<bool>());
  EXPECT_LT(r.fevals, 200);  // the run stops once every sample is known to diverge
}

TEST(Divergence, AcceleratedSolversOnRadius15AreHonest) {
  // z = A z + b with radius 1.5 still has a unique fixed point (I - A is invertible), and
  // Anderson / Broyden may find it. Whatever they report must be true.
  auto m = test::linear_map(1.5, 4, 16, 11);
  for (auto method : {solve::Method::Anderson, solve::Method::Broyden}) {
    auto r = solve::solve(m, torch::zeros_like(m.b), solve::SolverOptions().method(method).tol(1e-8).max_iter(200));
    EXPECT_TRUE(torch::isfinite(r.z).all().item<bool>());
    for (int b = 0; b < 4; ++b) {
      auto st = solve::Status(r.status[b].item<int64_t>());
      std::printf("  %s sample %d: %s\n", solve::to_string(method).c_str(), b, solve::to_string(st).c_str());
      if (st == solve::Status::Converged)
        EXPECT_LT(test::rel_err(r.z[b], m.z_star[b], "converged z vs closed form"), 1e-6);
    }
  }
}

TEST(Divergence, MapWithoutFixedPointIsDivergedForEverySolver) {
  // f(z) = exp(z) > z everywhere: no fixed point; iterates blow up.
  auto f = [](const torch::Tensor& z) { return torch::exp(z); };
  for (auto method : kMethods) {
    auto r = solve::solve(f, torch::zeros({3, 8}, torch::kFloat64),
                          solve::SolverOptions().method(method).tol(1e-8).max_iter(100));
    std::printf("  %s exp map: %lld diverged, %lld max_iter\n", solve::to_string(method).c_str(),
                (long long)r.count(solve::Status::Diverged), (long long)r.count(solve::Status::MaxIter));
    EXPECT_EQ(r.count(solve::Status::Converged), 0);
    EXPECT_EQ(r.count(solve::Status::Diverged), 3) << solve::to_string(method);
    EXPECT_TRUE(torch::isfinite(r.z).all().item<bool>());
  }
}

TEST(Divergence, NaNInOneSampleDoesNotPoisonTheBatch) {
  auto m = test::linear_map(0.8, 3, 8, 12);
  int calls = 0;
  auto f = [&](const torch::Tensor& z) {
    auto out = m(z);
    if (++calls >= 4) out[1] = std::nan("");  // sample 1 turns NaN from the 4th evaluation
    return out;
  };
  for (auto method : kMethods) {
    calls = 0;
    auto r = solve::solve(f, torch::zeros_like(m.b), solve::SolverOptions().method(method).tol(1e-10).max_iter(500));
    EXPECT_EQ(solve::Status(r.status[1].item<int64_t>()), solve::Status::Diverged) << solve::to_string(method);
    EXPECT_EQ(r.steps[1].item<int64_t>(), 4);
    EXPECT_EQ(r.count(solve::Status::Converged), 2) << solve::to_string(method);
    EXPECT_TRUE(torch::isfinite(r.z).all().item<bool>());
    EXPECT_LT(test::rel_err(r.z[0], m.z_star[0], "healthy sample 0"), 1e-8);
    EXPECT_LT(test::rel_err(r.z[2], m.z_star[2], "healthy sample 2"), 1e-8);
  }
}

TEST(Divergence, MaxIterIsReportedAsSuch) {
  auto m = test::linear_map(0.99, 2, 8, 13);
  auto r = solve::solve(m, torch::zeros_like(m.b),
                        solve::SolverOptions().method(solve::Method::Picard).tol(1e-12).max_iter(5));
  EXPECT_EQ(r.count(solve::Status::MaxIter), 2);
  EXPECT_EQ(r.fevals, 5);
  EXPECT_EQ(r.steps.max().item<int64_t>(), 5);
}

}  // namespace
