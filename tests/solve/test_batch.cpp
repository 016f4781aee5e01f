// Per-sample behaviour in a batch: own step counts, freezing, min_iter, any state shape.
#include "common/linear_map.h"
#include "eqt/solve/solver.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace eqt;

namespace {

// Sample b iterates z <- r_b z + c_b elementwise from z = 0: after k evaluations the
// residual of x_{k-1} = c (1 - r^(k-1)) / (1 - r) is |c| r^(k-1), and f(x) = c (1 - r^k)/(1 - r),
// so rel = r^(k-1) (1 - r) / (1 - r^k). The first k with rel < tol is the expected step count.
int64_t expected_picard_steps(double r, double tol) {
  for (int64_t k = 1;; ++k) {
    double rel = std::pow(r, double(k - 1)) * (1 - r) / (1 - std::pow(r, double(k)));
    if (rel < tol) return k;
  }
}

struct ScalarRates {
  torch::Tensor r, c;  // (B, 1)
  torch::Tensor operator()(const torch::Tensor& z) const { return r * z + c; }
};

ScalarRates rates() {
  auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  return {torch::tensor({0.1, 0.5, 0.9}, opt).unsqueeze(1), torch::full({3, 1}, 2.0, opt)};
}

TEST(Batch, EachSampleHasItsOwnStepCount) {
  auto f = rates();
  const double tol = 1e-8;
  for (bool freeze : {false, true}) {
    auto r = solve::solve(f, torch::zeros({3, 4}, torch::kFloat64),
                          solve::SolverOptions().method(solve::Method::Picard).tol(tol).max_iter(500).freeze(freeze));
    ASSERT_TRUE(r.all_converged());
    for (int b = 0; b < 3; ++b) {
      double rate = f.r[b].item<double>();
      std::printf("  freeze %d rate %.1f: steps %lld (expected %lld)\n", freeze, rate,
                  (long long)r.steps[b].item<int64_t>(), (long long)expected_picard_steps(rate, tol));
      EXPECT_EQ(r.steps[b].item<int64_t>(), expected_picard_steps(rate, tol));
    }
    // Slowest sample decides how long the batch runs.
    EXPECT_EQ(r.fevals, expected_picard_steps(0.9, tol));
  }
}

TEST(Batch, FrozenSamplesStopChanging) {
  auto f = rates();
  std::vector<torch::Tensor> inputs;  // what f saw at every evaluation
  auto recording = [&](const torch::Tensor& z) {
    inputs.push_back(z.clone());
    return f(z);
  };
  for (auto method : {solve::Method::Picard, solve::Method::Anderson, solve::Method::Broyden}) {
    inputs.clear();
    auto r = solve::solve(recording, torch::zeros({3, 4}, torch::kFloat64),
                          solve::SolverOptions().method(method).tol(1e-9).max_iter(500).freeze(true));
    ASSERT_TRUE(r.all_converged()) << solve::to_string(method);
    for (int b = 0; b < 3; ++b) {
      const int64_t s = r.steps[b].item<int64_t>();
      // From its converging evaluation on, sample b's input never changes again ...
      for (size_t k = s; k < inputs.size(); ++k)
        EXPECT_TRUE(torch::equal(inputs[k][b], inputs[s - 1][b])) << solve::to_string(method) << " b " << b;
      // ... and the answer is exactly that converged iterate.
      EXPECT_TRUE(torch::equal(r.z[b], inputs[s - 1][b]));
    }
  }
}

TEST(Batch, WithoutFreezeConvergedSamplesKeepImproving) {
  auto f = rates();
  auto r = solve::solve(f, torch::zeros({3, 4}, torch::kFloat64),
                        solve::SolverOptions().method(solve::Method::Picard).tol(1e-8).max_iter(500));
  // Sample 0 (rate 0.1) met the test long before the batch stopped; its answer is the last
  // iterate, so its residual is far below the tolerance.
  EXPECT_LT(r.steps[0].item<int64_t>(), r.fevals);
  EXPECT_LT(r.rel_res[0].item<double>(), 1e-30 + 1e-8 * 1e-10);
}

TEST(Batch, MinIterIsRespected) {
  auto f = rates();
  auto r = solve::solve(f, torch::zeros({3, 4}, torch::kFloat64),
                        solve::SolverOptions().method(solve::Method::Anderson).tol(1e-3).min_iter(12).max_iter(64));
  EXPECT_GE(r.steps.min().item<int64_t>(), 12);
  EXPECT_GE(r.fevals, 12);
}

TEST(Batch, MatchesSolvingEachSampleAlone) {
  // Anderson and Broyden keep per-sample histories: a batch solve with freezing equals
  // solving every sample on its own.
  auto m = test::linear_map(0.9, 4, 16, 7);
  m.b = m.b * torch::tensor({0.01, 1.0, 10.0, 100.0}, torch::kFloat64).unsqueeze(1);
  for (auto method : {solve::Method::Anderson, solve::Method::Broyden}) {
    auto opts = solve::SolverOptions().method(method).tol(1e-10).max_iter(1000).freeze(true);
    auto batch = solve::solve(m, torch::zeros_like(m.b), opts);
    for (int b = 0; b < 4; ++b) {
      test::LinearMap one{m.A, m.b.narrow(0, b, 1), m.z_star.narrow(0, b, 1)};
      auto alone = solve::solve(one, torch::zeros_like(one.b), opts);
      EXPECT_EQ(alone.steps[0].item<int64_t>(), batch.steps[b].item<int64_t>()) << solve::to_string(method);
      EXPECT_LT(test::rel_err(batch.z[b], alone.z[0], "batch vs alone"), 1e-12);
    }
  }
}

TEST(Batch, AnyStateShape) {
  // (B, T, C) states are solved per sample, flattened internally.
  auto m = test::linear_map(0.7, 2, 12, 8);
  auto f = [&](const torch::Tensor& z) {  // (B, 3, 4)
    EXPECT_EQ(z.dim(), 3);
    return m(z.reshape({2, 12})).reshape({2, 3, 4});
  };
  auto r = solve::solve(f, torch::zeros({2, 3, 4}, torch::kFloat64), solve::SolverOptions().tol(1e-10));
  ASSERT_EQ(r.z.sizes(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_LT(test::rel_err(r.z.reshape({2, 12}), m.z_star, "(B,T,C) vs closed form"), 1e-8);
}

}  // namespace

// check_every k: the loop tests "all stopped?" on the host only every k-th evaluation, so it
// may run up to k - 1 evaluations longer, but each sample's step count (when it first met
// the tolerance, recorded on the device) and its status are those of k = 1.
TEST(Batch, CheckingEveryKEvaluationsKeepsEachSamplesSteps) {
  auto f = rates();
  const double tol = 1e-8;
  auto base = solve::SolverOptions().method(solve::Method::Picard).tol(tol).max_iter(500);
  auto r1 = solve::solve(f, torch::zeros({3, 4}, torch::kFloat64), base);
  for (int64_t k : {2, 4, 7}) {
    for (bool freeze : {false, true}) {
      auto o = base;
      o.check_every(k).freeze(freeze);
      auto rk = solve::solve(f, torch::zeros({3, 4}, torch::kFloat64), o);
      ASSERT_TRUE(rk.all_converged()) << k;
      EXPECT_TRUE(torch::equal(rk.steps, r1.steps)) << "check_every " << k << ": " << rk.steps << " vs " << r1.steps;
      EXPECT_EQ(rk.fevals % k, 0) << k;
      EXPECT_GE(rk.fevals, r1.fevals);
      EXPECT_LT(rk.fevals, r1.fevals + k);
      const double err = (rk.z - r1.z).abs().max().item<double>();
      std::printf("check_every %lld freeze %d: fevals %lld (k = 1: %lld), max |z - z_1| %.2e\n", (long long)k,
                  int(freeze), (long long)rk.fevals, (long long)r1.fevals, err);
      EXPECT_LT(err, 1e-6) << k;  // both within the tolerance of the same fixed point
    }
  }
  EXPECT_THROW(solve::validate(solve::SolverOptions().check_every(0)), std::invalid_argument);
}

// Compaction (freeze + a RowMap): stopped samples are dropped and f runs on the others only.
// Samples do not interact, so every per-sample number must be that of the same solve without
// compaction, while f sees fewer rows: with a check every evaluation exactly sum_b steps_b.
namespace {

// z_b <- s_b z_b A^T + b_b: one map, a different spectral radius (so step count) per sample.
struct ScaledLinear {
  torch::Tensor A, s, b;  // (D, D), (B, 1), (B, D)
  // Each row's product on its own (no GEMM): OpenBLAS picks its kernel by the number of rows,
  // and on AMD EPYC the rounding of a 2-row and a 6-row product differs (1.6e-7 relative at the
  // tolerance's scale), which is BLAS's business, not the solver's that this test is about.
  torch::Tensor operator()(const torch::Tensor& z) const { return s * (z.unsqueeze(1) * A.unsqueeze(0)).sum(-1) + b; }
  solve::Map rows(const torch::Tensor& idx) const { return ScaledLinear{A, s.index_select(0, idx), b.index_select(0, idx)}; }
};

}  // namespace

TEST(Batch, CompactingSkipsStoppedSamplesAndChangesNothing) {
  auto m = test::linear_map(0.95, 6, 16, 11);
  ScaledLinear f{m.A, torch::tensor({0.1, 0.9, 0.3, 1.0, 0.6, 0.8}, torch::kFloat64).unsqueeze(1), m.b};
  std::vector<torch::Tensor> seen;  // the row indices every restriction was asked for
  solve::RowMap rows = [&](const torch::Tensor& idx) {
    seen.push_back(idx.clone());
    return f.rows(idx);
  };
  const int64_t B = 6;
  for (auto method : {solve::Method::Picard, solve::Method::Anderson, solve::Method::Broyden}) {
    for (int64_t every : {1, 3}) {
      auto o = solve::SolverOptions().method(method).tol(1e-9).max_iter(400).freeze(true).check_every(every);
      auto plain = solve::solve(f, torch::zeros_like(m.b), o);
      seen.clear();
      auto comp = solve::solve(f, torch::zeros_like(m.b), o, rows);
      const std::string what = solve::to_string(method) + " check_every " + std::to_string(every);
      ASSERT_TRUE(plain.all_converged()) << what;
      EXPECT_TRUE(torch::equal(comp.steps, plain.steps)) << what << ": " << comp.steps << " vs " << plain.steps;
      EXPECT_TRUE(torch::equal(comp.status, plain.status)) << what;
      EXPECT_EQ(comp.fevals, plain.fevals) << what;
      double err = 0;
      for (auto [a, b] : {std::pair{comp.z, plain.z}, {comp.fz, plain.fz}, {comp.abs_res, plain.abs_res},
                          {comp.rel_res, plain.rel_res}, {comp.abs_trace, plain.abs_trace}, {comp.rel_trace, plain.rel_trace}})
        err = std::max(err, ((a - b).abs() / (b.abs() + 1e-300)).max().item<double>());
      const int64_t sum_steps = comp.steps.sum().item<int64_t>();
      std::printf("  %-28s row evals %3lld compacted vs %3lld (sum of steps %lld), %zu compactions, max rel diff %.1e\n",
                  what.c_str(), (long long)comp.row_evals, (long long)plain.row_evals, (long long)sum_steps, seen.size(), err);
      EXPECT_LT(err, 1e-12) << what;
      EXPECT_EQ(plain.row_evals, plain.fevals * B) << what;
      ASSERT_FALSE(seen.empty()) << what;
      for (auto& idx : seen) EXPECT_TRUE(torch::equal(idx, std::get<0>(idx.sort()))) << what << ": rows not ascending";
      if (every == 1) EXPECT_EQ(comp.row_evals, sum_steps) << what;
      // A row is dropped at the first check after it stopped: at most every - 1 extra evaluations.
      EXPECT_LE(comp.row_evals, sum_steps + (every - 1) * B) << what;
      EXPECT_LT(comp.row_evals, plain.row_evals) << what;
    }
  }
  // compact = 0 turns it off; the option is validated.
  auto off = solve::solve(f, torch::zeros_like(m.b), solve::SolverOptions().tol(1e-9).freeze(true).compact(0), rows);
  EXPECT_EQ(off.row_evals, off.fevals * B);
  EXPECT_THROW(solve::validate(solve::SolverOptions().compact(1.5)), std::invalid_argument);
}
