// Forward options: a solver section for one call, where a closed loop starts (the family's own start, a given state, or a
// random one per row from its seed) and path noise. Checked against what they must equal:
// a given state equal to the family's start changes nothing bit for bit; a row's random
// draws depend on its seed alone (batched equals alone); a warm start from a solve's own
// equilibrium needs fewer iterations; what a family cannot do is refused by name; a solver
// section passed for one call equals the same section in the config and leaves it alone.
#include "models/tiny.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

models::StartState random_start(std::vector<uint64_t> seeds, double scale, double path_noise = 0) {
  models::StartState s;
  s.policy = models::StartState::Policy::Random;
  s.seeds = std::move(seeds);
  s.scale = scale;
  s.path_noise = path_noise;
  return s;
}

std::shared_ptr<models::ModelImpl> tiny_model(const std::string& family) {
  torch::manual_seed(0);
  auto m = models::make_model(test::tiny(family));
  m->eval();
  return m;
}

TEST(StartState, RowNoiseDependsOnTheRowsSeedAlone) {
  auto like = torch::zeros({3, 4, 8});
  models::RowNoise batch({5, 6, 7}), alone({6}), again({5, 6, 7});
  auto a = batch.draw(like), b = alone.draw(like.slice(0, 1, 2)), c = again.draw(like);
  EXPECT_TRUE(torch::equal(a[1], b[0])) << "row 1's draw depends on the other rows";
  EXPECT_TRUE(torch::equal(a, c)) << "the same seeds drew different numbers";
  EXPECT_FALSE(torch::equal(a[0], a[1])) << "different seeds drew the same numbers";
  // The stream continues: a second draw differs from the first.
  EXPECT_FALSE(torch::equal(batch.draw(like), a));
  EXPECT_NEAR(a.std().item<double>(), 1.0, 0.3);
}

// looped (zero start), deq (z0 = 0): a given state of zeros is the family's start.
TEST(StartState, GivenFamilyStartChangesNothing) {
  torch::NoGradGuard ng;
  const auto tokens = torch::randint(16, {2, 6}, torch::kLong);
  for (const std::string family : {"looped", "deq"}) {
    auto m = tiny_model(family);
    auto base = m->forward(tokens);
    models::ForwardOptions o;
    o.start.policy = models::StartState::Policy::Given;
    o.start.given = torch::zeros({2, 6, 32});
    auto given = m->forward(tokens, o);
    EXPECT_TRUE(torch::equal(base.logits, given.logits)) << family;
    ASSERT_TRUE(base.state.defined()) << family << ": no final state";
    EXPECT_EQ(base.state.sizes(), (std::vector<int64_t>{2, 6, 32})) << family;
  }
}

// The carry of deep supervision: rows marked in given_rows start from the given state, the
// others from the family's start, each exactly as it would alone.
TEST(StartState, GivenRowsMixCarriedAndFreshRows) {
  torch::NoGradGuard ng;
  const auto tokens = torch::randint(16, {3, 6}, torch::kLong);
  auto m = tiny_model("looped");
  auto first = m->forward(tokens);  // (B, T, C) state s_K
  models::ForwardOptions carried;
  carried.start.policy = models::StartState::Policy::Given;
  carried.start.given = first.state;
  auto all = m->forward(tokens, carried);
  carried.start.given_rows = torch::tensor({true, false, true});
  auto mixed = m->forward(tokens, carried);
  auto fresh = m->forward(tokens);
  EXPECT_TRUE(torch::equal(mixed.logits[0], all.logits[0]));
  EXPECT_TRUE(torch::equal(mixed.logits[1], fresh.logits[1]));
  EXPECT_TRUE(torch::equal(mixed.logits[2], all.logits[2]));
  EXPECT_FALSE(torch::equal(all.logits[1], fresh.logits[1])) << "the carried state changed nothing";
}

// A random start (and the looped family's path noise) batched with other rows gives a row
// the numbers it gets alone (up to the rounding of a batch of another size).
TEST(StartState, RandomStartBatchedEqualsAlone) {
  torch::NoGradGuard ng;
  const auto tokens = torch::randint(16, {3, 6}, torch::kLong);
  for (const std::string family : {"looped", "deq", "attractor"}) {
    auto m = tiny_model(family);
    const double noise = family == "looped" ? 0.3 : 0.0;
    auto all = m->forward(tokens, [&] {
      models::ForwardOptions o;
      o.start = random_start({11, 12, 13}, 0.5, noise);
      return o;
    }());
    auto one = m->forward(tokens.slice(0, 1, 2), [&] {
      models::ForwardOptions o;
      o.start = random_start({12}, 0.5, noise);
      return o;
    }());
    const double d = (all.logits[1] - one.logits[0]).abs().max().item<double>();
    std::printf("  %s: random start, row 1 batched vs alone: max |d logits| = %.2e\n", family.c_str(), d);
    EXPECT_LT(d, 1e-5) << family;
    auto plain = m->forward(tokens);
    const double moved = (all.logits - plain.logits).abs().max().item<double>();
    if (family == "looped") {  // K = 3 iterations from another start: other logits
      EXPECT_GT(moved, 1e-3) << "the random start and path noise changed nothing";
    } else {  // a contraction: the same equilibrium, reached by another path
      EXPECT_LT(moved, 1e-3) << family << ": a random start should reach the same fixed point";
      EXPECT_FALSE(torch::equal(all.stats.residual_trace, plain.stats.residual_trace))
          << family << ": the random start did not change the solver's path";
    }
  }
}

// Warm start: a solve started from its own equilibrium stops within a few iterations.
TEST(StartState, WarmStartFromTheEquilibriumNeedsFewerIterations) {
  torch::NoGradGuard ng;
  const auto tokens = torch::randint(16, {2, 6}, torch::kLong);
  for (const std::string family : {"deq", "attractor"}) {
    auto m = tiny_model(family);
    auto cold = m->forward(tokens);
    models::ForwardOptions o;
    o.start.policy = models::StartState::Policy::Given;
    o.start.given = cold.state;
    auto warm = m->forward(tokens, o);
    const double c = cold.stats.steps.mean().item<double>(), w = warm.stats.steps.mean().item<double>();
    std::printf("  %s: solver steps cold %.1f, warm from z* %.1f\n", family.c_str(), c, w);
    EXPECT_LT(w, c) << family;
    EXPECT_LE(w, 2.0) << family;
  }
}

TEST(ForwardOptions, SolverSectionForOneCall) {
  torch::NoGradGuard ng;
  const auto tokens = torch::randint(16, {2, 6}, torch::kLong);
  auto m = tiny_model("attractor");
  const auto before = m->config().to_json();
  models::ForwardOptions o;
  o.solver = m->config().solver;
  o.solver->method = "picard";
  o.solver->eval_max_iter = 3;
  o.solver->eval_tol = 0;
  auto call = m->forward(tokens, o);
  EXPECT_EQ(m->config().to_json(), before) << "the call changed the model's config";
  auto other = tiny_model("attractor");
  other->config().solver = *o.solver;
  auto configured = other->forward(tokens);
  EXPECT_TRUE(torch::equal(call.logits, configured.logits));
  EXPECT_EQ(call.stats.steps.max().item<double>(), 3.0) << "the call's iteration cap was not used";
  EXPECT_GT(m->forward(tokens).stats.steps.max().item<double>(), 3.0) << "the config's own solve is no longer";
}

TEST(StartState, RefusedByName) {
  torch::NoGradGuard ng;
  const auto tokens = torch::randint(16, {2, 6}, torch::kLong);
  auto expect_refused = [&](const std::string& family, const models::ForwardOptions& o, const std::string& says) {
    auto m = tiny_model(family);
    try {
      m->forward(tokens, o);
      ADD_FAILURE() << family << ": accepted, expected a refusal saying '" << says << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  models::ForwardOptions r;
  r.start = random_start({1, 2}, 1.0);
  expect_refused("standard", r, "'standard'");
  expect_refused("eqt", r, "'eqt'");
  models::ForwardOptions n;
  n.start = random_start({1, 2}, 0.0, 0.5);
  n.start.policy = models::StartState::Policy::Family;
  expect_refused("deq", n, "path noise");
  expect_refused("attractor", n, "path noise");
  models::ForwardOptions few;
  few.start = random_start({1}, 1.0);
  expect_refused("looped", few, "1 seeds for a batch of 2");
  models::ForwardOptions none;
  none.start = random_start({}, 1.0);
  expect_refused("deq", none, "one seed per batch row");
  models::ForwardOptions shape;
  shape.start.policy = models::StartState::Policy::Given;
  shape.start.given = torch::zeros({2, 5, 32});
  expect_refused("attractor", shape, "[2, 5, 32]");
  models::ForwardOptions neg;
  neg.start = random_start({1, 2}, -1.0);
  expect_refused("looped", neg, "scale");
}

}  // namespace
