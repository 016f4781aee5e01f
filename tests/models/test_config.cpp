// Config round trip and rejection of unknown or malformed keys, by name.
#include "eqt/models/family.h"
#include "eqt/models/model.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

TEST(Config, RoundTripIsIdentical) {
  models::ModelConfig c = models::ModelConfig::preset("attractor");
  c.block.d_model = 48;
  c.block.n_heads = 3;
  c.grad.mode = "ift";
  c.eqt.alpha = 0.05;
  c.looped.sample_loops = true;
  auto j = c.to_json();
  auto back = models::ModelConfig::from_json(j);
  EXPECT_EQ(back.to_json(), j);
  EXPECT_EQ(j["block"]["d_model"], 48);
  EXPECT_EQ(j["grad"]["mode"], "ift");
  // Text round trip too.
  EXPECT_EQ(models::ModelConfig::from_json(nlohmann::json::parse(j.dump())).to_json(), j);
}

TEST(Config, UnknownKeyFailsWithItsName) {
  auto j = models::ModelConfig().to_json();
  j["solver"]["tolerance"] = 1e-3;  // misspelled tol
  try {
    models::ModelConfig::from_json(j);
    FAIL() << "unknown key accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("solver.tolerance"), std::string::npos) << e.what();
  }
  EXPECT_THROW(models::ModelConfig::from_json({{"familly", "deq"}}), std::invalid_argument);
}

TEST(Config, BadValuesAreNamed) {
  auto expect_named = [](nlohmann::json j, const std::string& name) {
    try {
      models::ModelConfig::from_json(j);
      FAIL() << j.dump() << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  expect_named({{"family", "rnn"}}, "family");
  expect_named({{"block", {{"mlp", "geglu"}}}}, "block.mlp");
  expect_named({{"block", {{"d_model", "wide"}}}}, "block.d_model");
  expect_named({{"block", {{"d_model", 30}, {"n_heads", 4}}}}, "block.d_model");
  expect_named({{"solver", {{"method", "newton"}}}}, "newton");
  expect_named({{"eqt", {{"memory", true}, {"mem_tau", 0}}}}, "eqt.mem_tau");
  expect_named({{"eqt", {{"memory", true}, {"mem_momentum", 1.0}}}}, "eqt.mem_momentum");
  expect_named({{"eqt", {{"mem_slots", 0}}}}, "eqt.mem_slots");
  expect_named({{"eqt", {{"memory", true}, {"grad", "implicit"}}}}, "eqt.memory");
  expect_named({{"eqt", {{"entropy_steps", true}, {"grad", "implicit"}}}}, "eqt.entropy_steps");
}

TEST(Config, EveryFamilyBuildsWithItsDefaults) {
  // Every row of the family table builds from its defaults and computes logits of the
  // right shape, finite, that depend on the input.
  for (const auto& fam : models::family_names()) {
    const auto cfg = models::ModelConfig::preset(fam);
    auto m = models::make_model(cfg);
    m->eval();
    torch::NoGradGuard ng;
    torch::manual_seed(0);
    auto tokens = torch::randint(0, cfg.vocab, {2, 8}, torch::kLong);  // (B, T)
    auto logits = m->forward(tokens).logits;                            // (B, T, V)
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 8, cfg.vocab})) << fam;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << fam;
    EXPECT_GT((logits[0] - logits[1]).abs().max().item<double>(), 0.0) << fam << ": the rows' logits are equal";
  }
  // The standard defaults by hand: a tied V x d embedding, per block 4 d^2 attention
  // (q, k, v, o; no biases), 2 * mult * d^2 ReLU^2 MLP and two RMSNorm weights, a final norm.
  const auto s = models::ModelConfig::preset("standard");
  const int64_t d = s.block.d_model, hidden = int64_t(s.block.mlp_mult * double(d));
  const int64_t by_hand = s.vocab * d + s.n_layers * (4 * d * d + 2 * d * hidden + 2 * d) + d;
  EXPECT_EQ(models::make_model(s)->param_total(), by_hand);
}

TEST(Config, SavedEqTConfigWithoutReverseMeansTheBlockPredictor) {
  // Checkpoints written before eqt.reverse existed hold the reverse block's weights.
  auto j = models::ModelConfig::preset("eqt").to_json();
  EXPECT_EQ(j["eqt"]["reverse"], "attention");  // what new configs get
  j["eqt"].erase("reverse");
  EXPECT_EQ(models::ModelConfig::from_saved_json(j).eqt.reverse, "block");
  EXPECT_EQ(models::ModelConfig::from_json(j).eqt.reverse, "attention");  // a user's file: the default
  auto a = models::ModelConfig::preset("attractor").to_json();
  a["eqt"].erase("reverse");
  EXPECT_EQ(models::ModelConfig::from_saved_json(a).to_json(), models::ModelConfig::from_json(a).to_json());
}

}  // namespace
