// Properties of every family that must hold whatever the weights: causality, equilibria
// that satisfy their equations, monotone EqT energy descent, and real optimisation.
#include "eqt/grad/equilibrium.h"
#include "models/tiny.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

class Family : public ::testing::TestWithParam<std::string> {};

TEST_P(Family, ChangingTokenTNeverChangesEarlierLogits) {
  auto cfg = test::tiny(GetParam());
  cfg.solver.eval_tol = 1e-6;
  torch::manual_seed(2);
  auto model = models::make_model(cfg);
  model->eval();
  torch::NoGradGuard ng;
  auto a = torch::randint(cfg.vocab, {2, 12}, torch::kLong);
  auto base = model->forward(a).logits;
  double worst_before = 0, changed_after = 0;
  for (int64_t t : {3, 7, 11}) {
    auto b = a.clone();
    b.index_put_({torch::indexing::Slice(), t}, (a.index({torch::indexing::Slice(), t}) + 1) % cfg.vocab);
    auto lb = model->forward(b).logits;
    auto diff = (lb - base).abs();
    worst_before = std::max(worst_before, diff.narrow(1, 0, t).max().item<double>());
    changed_after = std::max(changed_after, diff.narrow(1, t, 12 - t).max().item<double>());
  }
  std::printf("  %s: max change before t %.3e, at/after t %.3e\n", GetParam().c_str(), worst_before, changed_after);
  // The solvers iterate whole sequences, so earlier positions may move by the solver
  // tolerance; they must not move by more.
  EXPECT_LT(worst_before, 1e-4);
  EXPECT_GT(changed_after, 1e-4);  // the test would notice a change
}

TEST_P(Family, DrivesTheLossOnAFixedBatchCloseToZero) {
  auto cfg = test::tiny(GetParam());
  cfg.block.init_std = 0.02;
  cfg.solver.train_tol = 1e-4;  // a training tolerance, as in REFERENCE 2 (3e-4)
  torch::manual_seed(3);
  auto model = models::make_model(cfg);
  model->train();
  // Distinct first tokens make every prefix unique, so zero loss is reachable at all.
  auto tokens = torch::randint(cfg.vocab, {8, 8}, torch::kLong);
  tokens.select(1, 0).copy_(torch::arange(8, torch::kLong));
  auto targets = torch::randint(cfg.vocab, {8, 8}, torch::kLong);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
  double first = 0, ce = 0;
  int step = 0;
  for (; step < 400; ++step) {
    auto out = model->forward(tokens);
    auto loss = torch::cross_entropy_loss(out.logits.reshape({-1, cfg.vocab}), targets.reshape({-1}));
    ce = loss.item<double>();
    if (step == 0) first = ce;
    if (ce < 0.05) break;
    if (out.aux_loss.defined()) loss = loss + out.aux_loss;
    opt.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
  }
  std::printf("  %s: cross-entropy %.3f -> %.4f in %d steps\n", GetParam().c_str(), first, ce, step);
  EXPECT_LT(ce, 0.05);
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, Family, ::testing::ValuesIn(test::families()));

// The attractor's y* satisfies y* = Head(y* + c) - y*, and the DEQ's z* = core(z* + u):
// recompute f at the returned state through a second, differently configured solve.
TEST(Equilibria, AttractorAndDEQReachTheirFixedPoints) {
  for (const std::string fam : {"attractor", "deq"}) {
    auto cfg = test::tiny(fam);
    cfg.solver.eval_tol = 1e-5;
    torch::manual_seed(4);
    auto model = models::make_model(cfg);
    model->eval();
    torch::NoGradGuard ng;
    auto tokens = torch::randint(cfg.vocab, {3, 10}, torch::kLong);
    auto out = model->forward(tokens);
    std::printf("  %s: steps %s residual max %.2e\n", fam.c_str(),
                c10::str(out.stats.steps).c_str(), out.stats.residual.max().item<double>());
    EXPECT_TRUE((out.stats.status == int64_t(solve::Status::Converged)).all().item<bool>());
    EXPECT_LT(out.stats.residual.max().item<double>(), 1e-5);
    // A much tighter Picard solve lands on the same logits.
    cfg.solver.method = "picard";
    cfg.solver.eval_tol = 1e-7;
    cfg.solver.eval_max_iter = 400;
    model->config() = cfg;
    auto tight = model->forward(tokens);
    auto err = ((tight.logits - out.logits).abs().max() / tight.logits.abs().max()).item<double>();
    std::printf("  %s: logits vs tight Picard solve, max rel err %.2e\n", fam.c_str(), err);
    EXPECT_LT(err, 1e-3);
  }
}

TEST(Attractor, ZeroSolverStepsDecodeTheProposal) {
  auto cfg = test::tiny("attractor");
  torch::manual_seed(5);
  auto model = models::make_model(cfg);
  model->eval();
  torch::NoGradGuard ng;
  auto tokens = torch::randint(cfg.vocab, {2, 6}, torch::kLong);
  auto full = model->forward(tokens).logits;
  model->config().solver.eval_max_iter = 0;
  auto proposal = model->forward(tokens).logits;
  EXPECT_FALSE(torch::allclose(full, proposal));  // the head does something
  EXPECT_EQ(model->forward(tokens).stats.steps.sum().item<double>(), 0.0);
}

TEST(EqT, EnergyDecreasesMonotonicallyUnderTheStepBound) {
  auto cfg = test::tiny("eqt");
  cfg.eqt.eval_steps = 30;
  cfg.eqt.alpha = 0.02;  // well under 2 / (Lip(grad E) + 1/gamma) for this model
  torch::manual_seed(6);
  auto model = models::make_model(cfg);
  model->eval();
  auto tokens = torch::randint(cfg.vocab, {2, 8}, torch::kLong);
  auto trace = model->forward(tokens).stats.energy_trace;  // (S, B)
  ASSERT_EQ(trace.size(0), 31);
  auto diffs = trace.narrow(0, 1, 30) - trace.narrow(0, 0, 30);
  std::printf("  Phi: %.5f -> %.5f, largest step change %.3e\n", trace[0][0].item<double>(),
              trace[30][0].item<double>(), diffs.max().item<double>());
  EXPECT_LE(diffs.max().item<double>(), 1e-6);
  EXPECT_LT(trace[30].sum().item<double>(), trace[0].sum().item<double>() - 1e-3);
}

TEST(EqT, ImplicitGradientApproachesTheUnrolledOneAtConvergence) {
  // The implicit gradient is exact at a smooth minimiser of Phi. The confidence term's
  // argmax makes Phi non-smooth where the argmax switches, so it is off here; a strong
  // proximal term (gamma 0.1) makes 200 steps converge to ~1e-8 relative change.
  auto cfg = test::tiny("eqt");
  cfg.eqt.steps = 200;
  cfg.eqt.gamma = 0.1;
  cfg.eqt.alpha = 0.05;
  cfg.eqt.lambda_conf = 0.0;
  cfg.eqt.cg_iters = 100;
  cfg.eqt.cg_tol = 1e-8;
  cfg.eqt.beta = 0.0;  // compare the CE gradient through the refinement alone
  torch::manual_seed(7);
  auto model = models::make_model(cfg);
  model->train();
  auto tokens = torch::randint(cfg.vocab, {2, 6}, torch::kLong);
  auto targets = torch::randint(cfg.vocab, {2, 6}, torch::kLong);
  auto grads = [&](const std::string& mode) {
    model->config().eqt.grad = mode;
    model->zero_grad();
    auto out = model->forward(tokens);
    torch::cross_entropy_loss(out.logits.reshape({-1, cfg.vocab}), targets.reshape({-1})).backward();
    std::vector<torch::Tensor> g;
    for (auto& p : model->parameters()) g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    return g;
  };
  auto unrolled = grads("unrolled"), implicit = grads("implicit");
  model->eval();
  model->config().eqt.eval_steps = cfg.eqt.steps;
  auto settled = model->forward(tokens).stats.residual.max().item<double>();
  std::printf("  last relative change of the refinement: %.2e\n", settled);
  ASSERT_LT(settled, 1e-5);
  double num = 0, den = 0;
  for (size_t i = 0; i < unrolled.size(); ++i) {
    num = std::max(num, (unrolled[i] - implicit[i]).abs().max().item<double>());
    den = std::max(den, unrolled[i].abs().max().item<double>());
  }
  std::printf("  implicit vs unrolled (200 steps): max rel err %.3e\n", num / den);
  EXPECT_LT(num / den, 1e-3);
}

}  // namespace
