// Incremental decoding changes nothing but the cost: for every family, greedy decoding of
// 64 new tokens with the KV cache (the new position only, solved / refined on its own)
// gives the same tokens, and logits within 1e-4, as recomputing the whole sequence for
// every token (where the closed loop is solved jointly over all positions). The models are
// trained for a few steps first, so the logits are not those of a random net.
#include "eqt/infer/generator.h"
#include "infer/trained_tiny.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

class CachedDecoding : public ::testing::TestWithParam<std::string> {};

TEST_P(CachedDecoding, EqualsRecomputeOver64Tokens) {
  auto model = test::trained_tiny(GetParam());
  const std::vector<int64_t> prompt = {3, 2, 13, 4, 7, 6, 1, 8};
  std::vector<torch::Tensor> logits[2];
  infer::GenerateResult res[2];
  for (int cached = 0; cached < 2; ++cached) {
    auto o = infer::GenerateOptions().max_new_tokens(64).cached(cached == 1);
    o.sampling().temperature(0);
    res[cached] = infer::generate(*model, prompt, o, [&](const infer::TokenEvent& e) {
      logits[cached].push_back(e.logits);
      return true;
    });
  }
  ASSERT_EQ(res[0].tokens.size(), 64u);
  ASSERT_EQ(res[1].tokens.size(), 64u);
  double max_err = 0;
  for (size_t i = 0; i < 64; ++i) max_err = std::max(max_err, (logits[0][i] - logits[1][i]).abs().max().item<double>());
  size_t same = 0;
  while (same < 64 && res[0].tokens[same] == res[1].tokens[same]) ++same;
  std::printf("  %s: %zu/64 tokens equal, max |logit cached - recompute| = %.3e, mean steps %.2f (cached) %.2f (recompute)\n",
              GetParam().c_str(), same, max_err, res[1].mean_decode_steps(), res[0].mean_decode_steps());
  EXPECT_EQ(res[0].tokens, res[1].tokens);
  EXPECT_LT(max_err, 1e-4);
  // Not a constant sequence: the test would not notice a wrong cache otherwise.
  std::set<int64_t> distinct(res[1].tokens.begin(), res[1].tokens.end());
  EXPECT_GT(distinct.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, CachedDecoding, ::testing::ValuesIn(test::decoding_families()),
                         [](const auto& info) { return info.param; });

TEST(CachedDecoding, SwitchingRefinementOnMidSequenceIsRefused) {
  auto model = models::make_model(test::tiny("attractor"));
  model->eval();
  models::DecodeCache cache;
  model->config() = model->config().with_refinement_cap(0);
  model->forward_cached(torch::tensor({{1, 2, 3}}, torch::kInt64), cache);
  model->config() = model->config().with_refinement_cap(10);
  try {
    model->forward_cached(torch::tensor({{4}}, torch::kInt64), cache);
    FAIL() << "expected the head's missing cache to be reported";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("decode cache 'head' holds 0 positions, expected 3"), std::string::npos)
        << e.what();
  }
}

TEST(Generate, StopsAtTheContextAndRejectsBadPrompts) {
  auto cfg = test::tiny("standard");
  cfg.max_seq = 10;
  auto model = models::make_model(cfg);
  auto o = infer::GenerateOptions().max_new_tokens(50);
  auto r = infer::generate(*model, {1, 2, 3, 4}, o);
  EXPECT_EQ(r.tokens.size(), 7u);  // read from sequences of length 4 .. 10 = max_seq
  EXPECT_EQ(r.stop, "context");
  EXPECT_THROW(infer::generate(*model, {}, o), std::invalid_argument);
  EXPECT_THROW(infer::generate(*model, {1, 99}, o), std::invalid_argument);
  EXPECT_THROW(infer::generate(*model, std::vector<int64_t>(11, 1), o), std::invalid_argument);
}

}  // namespace
