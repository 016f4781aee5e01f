// Continuous batching changes nothing but the cost: for every family, requests that join a
// BatchDecoder at different times, with prompts of different lengths and different token
// budgets (so rows leave mid-way), get the same greedy tokens, logits within 1e-5 and the
// same solver / refinement steps per token as generate() gives each alone. The solvers
// stop loosely (tol 1e-3) and EqT halts per row, so a row that kept iterating with the
// batch instead of freezing at its own convergence differs by far more than 1e-5 (checked:
// without the freeze, DEQ and attractor rows differ by 1.4e-4 to 2.4e-3).
#include "eqt/infer/batch_decoder.h"
#include "infer/trained_tiny.h"

#include <gtest/gtest.h>

#include <set>

using namespace eqt;

namespace {

struct Request {
  std::vector<int64_t> prompt;
  int64_t max_new;
  int64_t joins_after;  // decode steps of the batch before it is added
};

const std::vector<Request> kRequests = {
    {{3, 2, 13, 4, 7, 6, 1, 8}, 24, 0},
    {{9, 0, 3}, 10, 0},
    {{5, 12, 15, 14, 9, 0, 3, 2, 13, 4, 7, 6, 1}, 24, 2},
    {{11}, 17, 3},
    {{4, 7, 6, 1, 8, 11, 10}, 1, 5},  // done at its prefill: never joins a decode step
};

std::shared_ptr<models::ModelImpl> loose(const std::string& family, const std::string& positions) {
  auto model = test::trained_tiny(family, positions);
  auto& c = model->config();
  c.solver.eval_tol = 1e-3;
  c.eqt.eval_steps = 12;
  c.eqt.halt_eps = 5e-3;  // rows halt after 1 to 12 steps
  return model;
}

struct Trace {
  std::vector<torch::Tensor> logits;
  infer::GenerateResult result;
};

// (family, positions): RoPE rotates keys per row; sinusoidal encodings are added per row.
class BatchedDecoding : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(BatchedDecoding, EveryRowEqualsItsRequestServedAlone) {
  const auto& [family, positions] = GetParam();
  auto model = loose(family, positions);
  const size_t N = kRequests.size();
  std::vector<Trace> alone(N), batched(N);
  for (size_t i = 0; i < N; ++i) {
    auto o = infer::GenerateOptions().max_new_tokens(kRequests[i].max_new);
    o.sampling().temperature(0);
    alone[i].result = infer::generate(*model, kRequests[i].prompt, o, [&, i](const infer::TokenEvent& e) {
      alone[i].logits.push_back(e.logits);
      return true;
    });
  }
  infer::BatchDecoder dec(*model);
  size_t added = 0, max_rows = 0;
  for (int64_t step = 0; added < N || dec.size() > 0; ++step) {
    while (added < N && kRequests[added].joins_after <= step) {
      const size_t i = added++;
      auto o = infer::GenerateOptions().max_new_tokens(kRequests[i].max_new);
      o.sampling().temperature(0);
      dec.add(
          kRequests[i].prompt, o,
          [&, i](const infer::TokenEvent& e) {
            batched[i].logits.push_back(e.logits);
            return true;
          },
          [&, i](const infer::GenerateResult& r) { batched[i].result = r; });
    }
    max_rows = std::max(max_rows, dec.size());
    dec.step();
  }
  EXPECT_GE(max_rows, 3u);  // rows really were decoded together
  double max_err = 0;
  size_t tokens = 0, equal_steps = 0;
  for (size_t i = 0; i < N; ++i) {
    const auto &a = alone[i].result, &b = batched[i].result;
    ASSERT_EQ(int64_t(a.tokens.size()), kRequests[i].max_new);
    EXPECT_EQ(a.tokens, b.tokens) << "request " << i;
    ASSERT_EQ(batched[i].logits.size(), a.tokens.size());
    for (size_t t = 0; t < a.tokens.size(); ++t) {
      max_err = std::max(max_err, (alone[i].logits[t] - batched[i].logits[t]).abs().max().item<double>());
      equal_steps += a.steps[t] == b.steps[t];
      ++tokens;
    }
    EXPECT_EQ(b.stop, "length");
  }
  std::set<double> distinct_steps;
  for (const auto& a : alone)
    distinct_steps.insert(a.result.steps.begin() + (a.result.steps.size() > 1), a.result.steps.end());
  std::printf("  %s, %s: %zu tokens, max |logit batched - alone| = %.3e, steps equal for %zu/%zu tokens, %zu distinct step counts\n",
              family.c_str(), positions.c_str(), tokens, max_err, equal_steps, tokens, distinct_steps.size());
  EXPECT_LT(max_err, 1e-5);
  EXPECT_EQ(equal_steps, tokens);
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, BatchedDecoding,
                         ::testing::Combine(::testing::ValuesIn(test::decoding_families()),
                                            ::testing::Values(std::string("rope"), std::string("sinusoidal"))),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

TEST(BatchedDecoding, SampledRowsKeepTheirOwnDraws) {
  // Each row has its own sampler: seeded requests draw the same tokens batched as alone.
  auto model = test::trained_tiny("attractor");
  std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {4, 5, 6, 7, 8}, {9}};
  std::vector<infer::GenerateResult> alone;
  auto o = infer::GenerateOptions().max_new_tokens(12);
  o.sampling().temperature(1.0).seed(42);
  for (const auto& p : prompts) alone.push_back(infer::generate(*model, p, o));
  auto together = infer::generate_batch(*model, prompts, o);
  ASSERT_EQ(together.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(together[i].tokens, alone[i].tokens) << "prompt " << i;
}

TEST(BatchedDecoding, RowsStopAtTheContextAndBadRequestsAreRefused) {
  auto cfg = test::tiny("standard");
  cfg.max_seq = 10;
  auto model = models::make_model(cfg);
  auto o = infer::GenerateOptions().max_new_tokens(50);
  auto r = infer::generate_batch(*model, {{1, 2, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8}}, o);
  EXPECT_EQ(r[0].tokens.size(), 7u);  // positions 4 .. 10 = max_seq, as generate() alone
  EXPECT_EQ(r[1].tokens.size(), 3u);
  EXPECT_EQ(r[0].stop, "context");
  infer::BatchDecoder dec(*model);
  EXPECT_THROW(dec.add({}, o), std::invalid_argument);
  EXPECT_THROW(dec.add({1, 99}, o), std::invalid_argument);
  auto bad = o;
  bad.limits().tol = -1;
  EXPECT_THROW(dec.add({1, 2}, bad), std::invalid_argument);
  EXPECT_EQ(dec.size(), 0u);
}

// A request's own refinement limits (the page's per-request caps): rows with different caps
// share the decoder, each group is its own forward, and every row gets what generate()
// gives it alone with those limits; the capped row takes at most its cap per token.
TEST(BatchedDecoding, RequestsWithTheirOwnLimitsEqualThemAlone) {
  for (const std::string family : {"deq", "attractor", "eqt"}) {
    auto model = loose(family, "rope");
    std::vector<infer::GenerateOptions> opts(3, infer::GenerateOptions().max_new_tokens(8));
    for (auto& o : opts) o.sampling().temperature(0);
    opts[1].limits().max_steps = 2;
    opts[2].limits().exact_steps = 1;
    const std::vector<std::vector<int64_t>> prompts = {{3, 2, 13, 4}, {3, 2, 13, 4}, {9, 0, 3}};
    std::vector<infer::GenerateResult> together(3);
    infer::BatchDecoder dec(*model);
    for (size_t i = 0; i < 3; ++i)
      dec.add(prompts[i], opts[i], {}, [&together, i](const infer::GenerateResult& r) { together[i] = r; });
    while (dec.size() > 0) dec.step();
    for (size_t i = 0; i < 3; ++i) {
      auto alone = infer::generate(*model, prompts[i], opts[i]);
      EXPECT_EQ(together[i].tokens, alone.tokens) << family << " request " << i;
      ASSERT_EQ(together[i].steps.size(), alone.steps.size());
      double worst = 0;
      for (size_t t = 0; t < alone.steps.size(); ++t) worst = std::max(worst, std::abs(together[i].steps[t] - alone.steps[t]));
      std::printf("%s request %zu: mean steps %.2f batched, %.2f alone (worst difference %.2f)\n", family.c_str(), i,
                  together[i].mean_decode_steps(), alone.mean_decode_steps(), worst);
      EXPECT_EQ(worst, 0.0) << family << " request " << i;
    }
    for (double s : together[1].steps) EXPECT_LE(s, 2.0) << family;
    for (double s : together[2].steps) EXPECT_EQ(s, 1.0) << family;
    // The uncapped row really takes more steps than the cap, or the cap proves nothing.
    EXPECT_GT(together[0].mean_decode_steps(), 2.0) << family;
  }
}

}  // namespace
