// tests/models/test_refine_limits.cpp — per-call refinement limits: a forward with limits
// equals a forward of a model whose config carries them (written here by hand from what a cap
// means per family, model_config.h, not through RefineLimits), and changes nothing in the model.
#include "models/tiny.h"

#include <gtest/gtest.h>

namespace eqt {
namespace {

models::RefineLimits capped(int64_t n) {
  models::RefineLimits l;
  l.max_steps = n;
  return l;
}

TEST(RefineLimits, EqualToTheConfigTheyDescribeAndStateless) {
  for (const auto& fam : test::families()) {
    torch::manual_seed(0);
    auto cfg = test::tiny(fam);
    auto m = models::make_model(cfg);
    m->eval();
    torch::NoGradGuard ng;
    auto tokens = torch::randint(0, cfg.vocab, {2, 12}, torch::kLong);
    for (int64_t n : {0, 1, 3}) {
      const auto before = m->config().to_json();
      auto a = m->forward(tokens, capped(n)).logits;  // (B, T, V)
      EXPECT_EQ(m->config().to_json(), before) << fam << ": the limit changed the model's config";
      // A cap of n, by hand: solver iterations (deq, attractor; min_iter no more than the
      // cap), refinement steps (eqt), core iterations (looped, at least 1), z_L updates per
      // cycle (trm, at least 1: its steps are summed over the cycles).
      models::ModelConfig by_hand = cfg;
      by_hand.solver.eval_max_iter = n;
      by_hand.solver.eval_min_iter = std::min(cfg.solver.eval_min_iter, n);
      by_hand.eqt.eval_steps = n;
      if (fam == "looped") by_hand.looped.loops = std::max<int64_t>(n, 1);
      if (fam == "trm") {  // the inner work per cycle: z_L updates, or solver iterations; at least one
        by_hand.trm.l_cycles = std::max<int64_t>(n, 1);
        by_hand.solver.eval_max_iter = std::max<int64_t>(n, 1);
        by_hand.solver.eval_min_iter = std::min(cfg.solver.eval_min_iter, std::max<int64_t>(n, 1));
      }
      auto twin = models::make_model(by_hand);
      twin->eval();
      for (size_t i = 0; i < m->parameters().size(); ++i) twin->parameters()[i].copy_(m->parameters()[i]);
      for (size_t i = 0; i < m->buffers().size(); ++i) twin->buffers()[i].copy_(m->buffers()[i]);  // trm's starts
      auto b = twin->forward(tokens).logits;
      const double err = (a - b).abs().max().item<double>();
      std::printf("%s cap %lld: max |limits - config| %.3g\n", fam.c_str(), (long long)n, err);
      EXPECT_EQ(err, 0.0) << fam << " cap " << n;
      const auto steps = m->forward(tokens, capped(n)).stats.steps;  // (B,) undefined: no loop
      if (steps.defined())
        EXPECT_LE(steps.max().item<double>(), fam == "trm" ? double(cfg.trm.h_cycles * std::max<int64_t>(n, 1))
                                                            : double(std::max<int64_t>(n, fam == "looped" ? 1 : 0)))
            << fam << " cap " << n << ": the cap does not bind";
    }
  }
}

TEST(RefineLimits, ExactStepsRunExactlyThatManyAndNoEarlyStop) {
  torch::manual_seed(0);
  auto m = models::make_model(test::tiny("attractor"));
  m->eval();
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 16, {2, 8}, torch::kLong);
  models::RefineLimits l;
  l.exact_steps = 5;
  auto steps = m->forward(tokens, l).stats.steps;  // (B,)
  EXPECT_TRUE(steps.eq(5).all().item<bool>()) << steps;
}

TEST(RefineLimits, BadOrConflictingLimitsNameThemselves) {
  const auto cfg = test::tiny("deq");
  auto message = [&](const models::RefineLimits& l) {
    try {
      l.applied_to(cfg);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  models::RefineLimits neg_tol, nan_tol, neg_cap, both;
  neg_tol.tol = -1;
  nan_tol.tol = std::nan("");
  neg_cap.max_steps = -2;
  both.exact_steps = 3;
  both.tol = 1e-3;
  EXPECT_NE(message(neg_tol).find("tol = -1"), std::string::npos) << message(neg_tol);
  EXPECT_NE(message(nan_tol).find("tol = nan"), std::string::npos) << message(nan_tol);
  EXPECT_NE(message(neg_cap).find("max_steps = -2"), std::string::npos) << message(neg_cap);
  EXPECT_NE(message(both).find("cannot be combined"), std::string::npos) << message(both);
}

}  // namespace
}  // namespace eqt
