// Config round trip and rejection of unknown or malformed keys, by name.
#include "eqt/models/family.h"
#include "eqt/models/model.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

TEST(Config, RoundTripIsIdentical) {
  models::ModelConfig c = models::ModelConfig::preset("attractor");
  c.d_model = 48;
  c.n_heads = 3;
  c.grad = "ift";
  c.eqt_alpha = 0.05;
  c.sample_loops = true;
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
  expect_named({{"eqt", {{"memory", true}}}}, "eqt.memory");
}

TEST(Config, EveryFamilyBuildsWithItsDefaults) {
  for (const auto& fam : models::family_names()) {
    auto m = models::make_model(models::ModelConfig::preset(fam));
    EXPECT_GT(m->param_total(), 0) << fam;
    int64_t sum = 0;
    for (const auto& [k, v] : m->param_counts()) sum += v;
    EXPECT_EQ(sum, m->param_total());
  }
}

TEST(Config, SavedEqTConfigWithoutReverseMeansTheBlockPredictor) {
  // Checkpoints written before eqt.reverse existed hold the reverse block's weights.
  auto j = models::ModelConfig::preset("eqt").to_json();
  EXPECT_EQ(j["eqt"]["reverse"], "attention");  // what new configs get
  j["eqt"].erase("reverse");
  EXPECT_EQ(models::ModelConfig::from_saved_json(j).eqt_reverse, "block");
  EXPECT_EQ(models::ModelConfig::from_json(j).eqt_reverse, "attention");  // a user's file: the default
  auto a = models::ModelConfig::preset("attractor").to_json();
  a["eqt"].erase("reverse");
  EXPECT_EQ(models::ModelConfig::from_saved_json(a).to_json(), models::ModelConfig::from_json(a).to_json());
}

}  // namespace
