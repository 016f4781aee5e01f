// Gradients through an equilibrium, each checked against something it did not produce:
// float64 central finite differences, an unrolled solve, or the closed-form Jacobian.
#include "common/linear_map.h"
#include "eqt/grad/equilibrium.h"
#include "grad/tanh_map.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

constexpr int64_t B = 3, D = 6, E = 4;

// The loss of every test: a fixed random weighting of the equilibrium.
torch::Tensor loss_weights() {
  torch::manual_seed(99);
  return torch::randn({B, D}, torch::kFloat64);
}

solve::SolverOptions tight() { return solve::SolverOptions().tol(1e-13).max_iter(500); }

// Runs find_equilibrium and returns dL/d(W, U, b, x) for L = sum(w * z).
std::vector<torch::Tensor> grads_of(const test::TanhMap& m, const grad::GradOptions& g,
                                    const solve::SolverOptions& fwd = tight(),
                                    grad::Equilibrium* out = nullptr) {
  for (auto p : m.params()) p.mutable_grad() = torch::Tensor();
  auto eq = grad::find_equilibrium(m, torch::zeros({B, D}, torch::kFloat64), fwd, g);
  (eq.z * loss_weights()).sum().backward();
  if (out) *out = eq;
  std::vector<torch::Tensor> gs;
  for (auto p : m.params()) gs.push_back(p.grad().clone());
  return gs;
}

// Central differences of L(z*(theta)) with z* solved to machine precision.
std::vector<torch::Tensor> finite_difference(const test::TanhMap& m, double h = 1e-5) {
  torch::NoGradGuard ng;
  auto w = loss_weights();
  auto loss = [&] {
    auto r = solve::solve(m, torch::zeros({B, D}, torch::kFloat64),
                          solve::SolverOptions().method(solve::Method::Picard).tol(1e-14).max_iter(1000));
    return (r.z * w).sum().item<double>();
  };
  std::vector<torch::Tensor> gs;
  for (auto p : m.params()) {
    auto g = torch::zeros_like(p);
    auto flat = p.view({-1});
    auto gflat = g.view({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      double orig = flat[i].item<double>();
      flat[i] = orig + h;
      double up = loss();
      flat[i] = orig - h;
      double down = loss();
      flat[i] = orig;
      gflat[i] = (up - down) / (2 * h);
    }
    gs.push_back(g);
  }
  return gs;
}

const char* kNames[] = {"dL/dW", "dL/dU", "dL/db", "dL/dx (injection)"};

TEST(ImplicitGradient, MatchesFiniteDifferencesAndUnrolledSolve) {
  auto m = test::tanh_map(B, D, E, 0.6, 1);
  auto g = grad::GradOptions().mode(grad::Mode::IFT);
  g.backward().tol(1e-13).max_iter(500);
  grad::Equilibrium eq;
  auto ift = grads_of(m, g, tight(), &eq);
  auto fd = finite_difference(m);
  auto unrolled = grads_of(m, grad::GradOptions().mode(grad::Mode::Unrolled), tight());
  for (int i = 0; i < 4; ++i) {
    std::printf("%s\n", kNames[i]);
    EXPECT_LT(test::rel_err(ift[i], fd[i], "ift vs finite difference"), 1e-6) << kNames[i];
    EXPECT_LT(test::rel_err(ift[i], unrolled[i], "ift vs unrolled solve"), 1e-6) << kNames[i];
  }
  EXPECT_EQ(eq.backward->calls, 1);
  EXPECT_GT(eq.backward->fevals, 1);
  EXPECT_EQ(eq.backward->not_converged, 0);
}

TEST(ImplicitGradient, EachSolverSolvesTheBackwardSystem) {
  auto m = test::tanh_map(B, D, E, 0.6, 2);
  auto ref = finite_difference(m);
  for (auto method : {solve::Method::Picard, solve::Method::Anderson, solve::Method::Broyden}) {
    auto g = grad::GradOptions().mode(grad::Mode::IFT);
    g.backward().method(method).tol(1e-13).max_iter(500);
    auto gs = grads_of(m, g, tight().method(method));
    for (int i = 0; i < 4; ++i)
      EXPECT_LT(test::rel_err(gs[i], ref[i], solve::to_string(method).c_str()), 1e-6) << kNames[i];
  }
}

// Hand-derived one-step gradient: y = f(z*), u = v + s * J^T v (s = clip scale, 1 = no clip),
// dL/db = sum_batch d * u, dL/dW = sum_batch (d * u)^T z*, dL/dx = (d * u) U,
// dL/dU = sum_batch (d * u)^T x, with d = 1 - y^2 elementwise.
std::vector<torch::Tensor> onestep_formula(const test::TanhMap& m, double clip) {
  torch::NoGradGuard ng;
  auto z = solve::solve(m, torch::zeros({B, D}, torch::kFloat64), tight()).z;  // (B, D)
  auto v = loss_weights();                                                       // (B, D)
  auto J = m.jacobian(z);                                                        // (B, D, D)
  auto jtv = torch::bmm(v.unsqueeze(1), J).squeeze(1);                           // (B, D) J^T v
  if (clip > 0) {
    auto s = (clip * v.norm(2, 1) / jtv.norm(2, 1)).clamp_max(1.0);
    jtv = jtv * s.unsqueeze(1);
  }
  auto u = v + jtv;
  auto du = (1 - m(z).pow(2)) * u;  // (B, D)
  return {du.t().matmul(z), du.t().matmul(m.x), du.sum(0), du.matmul(m.U)};
}

TEST(OneStepGradient, MatchesItsFormula) {
  auto m = test::tanh_map(B, D, E, 0.6, 3);
  auto got = grads_of(m, grad::GradOptions().mode(grad::Mode::OneStep));
  auto want = onestep_formula(m, 0.0);
  for (int i = 0; i < 4; ++i) EXPECT_LT(test::rel_err(got[i], want[i], kNames[i]), 1e-9);
}

TEST(OneStepGradient, ClipMatchesItsFormula) {
  auto m = test::tanh_map(B, D, E, 0.9, 4);
  auto got = grads_of(m, grad::GradOptions().mode(grad::Mode::OneStep).clip(0.1));
  auto want = onestep_formula(m, 0.1);
  auto unclipped = onestep_formula(m, 0.0);
  EXPECT_GT((want[2] - unclipped[2]).abs().max().item<double>(), 1e-6);  // the clip is active
  for (int i = 0; i < 4; ++i) EXPECT_LT(test::rel_err(got[i], want[i], kNames[i]), 1e-9);
}

// Forward-mode chain rule for dL/db over k damped steps from z_0:
// z_{i+1} = (1 - tau) z_i + tau f(z_i), dz_{i+1}/db = (1 - tau) dz_i/db + tau D_i (W dz_i/db + I).
torch::Tensor damped_db_formula(const test::TanhMap& m, torch::Tensor z, int64_t k, double tau) {
  torch::NoGradGuard ng;
  auto I = torch::eye(D, torch::kFloat64);
  auto dz = torch::zeros({B, D, D}, torch::kFloat64);  // (B, D, D) dz/db
  for (int64_t i = 0; i < k; ++i) {
    auto d = (1 - m(z).pow(2)).unsqueeze(2);  // (B, D, 1)
    dz = (1 - tau) * dz + tau * d * (torch::matmul(m.W, dz) + I);
    z = (1 - tau) * z + tau * m(z);
  }
  return torch::bmm(loss_weights().unsqueeze(1), dz).squeeze(1).sum(0);  // (D,)
}

TEST(PhantomGradient, MatchesItsFormula) {
  auto m = test::tanh_map(B, D, E, 0.6, 5);
  const int64_t k = 3;
  const double tau = 0.7;
  auto got = grads_of(m, grad::GradOptions().mode(grad::Mode::Phantom).k(k).tau(tau));
  auto z_star = solve::solve(m, torch::zeros({B, D}, torch::kFloat64), tight()).z;
  EXPECT_LT(test::rel_err(got[2], damped_db_formula(m, z_star, k, tau), "phantom dL/db"), 1e-9);
}

TEST(TruncatedGradient, RecordsOnlyTheLastKSteps) {
  auto m = test::tanh_map(B, D, E, 0.6, 6);
  const int64_t n = 10, k = 4;
  auto fwd = solve::SolverOptions().max_iter(n);
  auto got = grads_of(m, grad::GradOptions().mode(grad::Mode::Truncated).k(k), fwd);
  // The first n - k evaluations carry no gradient: the start of the recorded part is
  // n - k - 1 plain steps from 0 (the solver's last evaluation only measures the residual).
  torch::Tensor z = torch::zeros({B, D}, torch::kFloat64);
  {
    torch::NoGradGuard ng;
    for (int64_t i = 0; i < n - k - 1; ++i) z = m(z);
  }
  EXPECT_LT(test::rel_err(got[2], damped_db_formula(m, z, k, 1.0), "truncated dL/db"), 1e-9);
}

TEST(Equilibrium, NoGradModeReturnsTheSolveWithoutGraph) {
  auto m = test::tanh_map(B, D, E, 0.6, 7);
  torch::NoGradGuard ng;
  for (auto mode : {grad::Mode::OneStep, grad::Mode::IFT, grad::Mode::Unrolled, grad::Mode::Phantom}) {
    auto eq = grad::find_equilibrium(m, torch::zeros({B, D}, torch::kFloat64), tight(),
                                     grad::GradOptions().mode(mode));
    EXPECT_FALSE(eq.z.requires_grad());
    EXPECT_TRUE(eq.forward.all_converged());
  }
}

TEST(Equilibrium, ModeNamesRoundTrip) {
  for (auto m : {grad::Mode::Unrolled, grad::Mode::Truncated, grad::Mode::Phantom, grad::Mode::OneStep,
                 grad::Mode::IFT})
    EXPECT_EQ(grad::mode_from_string(grad::to_string(m)), m);
  EXPECT_THROW(grad::mode_from_string("jfb"), std::invalid_argument);
}

// At inference the answer is f of the last measured iterate: with plain iteration and a cap
// of T evaluations it is exactly T applications of f from z0 (so a cap of 1 is f(z0), the
// same value training's implicit modes return), never the start itself.
TEST(Equilibrium, InferenceCapOfTIsTApplications) {
  auto m = test::tanh_map(B, D, E, 0.9, 21);
  torch::NoGradGuard ng;
  auto z0 = torch::zeros({B, D}, torch::kFloat64);
  double worst = 0;
  for (int64_t T : {1, 2, 5}) {
    auto opts = solve::SolverOptions().method(solve::Method::Picard).tol(0.0).min_iter(0).max_iter(T);
    auto eq = grad::find_equilibrium(m, z0, opts, grad::GradOptions().mode(grad::Mode::OneStep));
    auto expect = z0;
    for (int64_t t = 0; t < T; ++t) expect = m(expect);
    worst = std::max(worst, (eq.z - expect).abs().max().item<double>());
    EXPECT_EQ(eq.forward.fevals, T);
  }
  std::printf("  cap T vs T applications of f: max error %.3e\n", worst);
  EXPECT_LT(worst, 1e-15);
}

}  // namespace
