// tests/models/test_closed_loop.cpp — the residual map restricted to rows of the batch
// (residual_rows, what lets a frozen solve skip stopped samples) is the full map's rows: with
// and without a key/value cache (per-row left padding included); and a model solved with
// compaction gives the logits and per-sample steps of the same model solved without it.
#include "eqt/models/closed_loop.h"
#include "models/tiny.h"

#include <gtest/gtest.h>

namespace eqt {
namespace {

TEST(ClosedLoop, RowMapIsTheFullMapsRows) {
  torch::manual_seed(3);
  nn::BlockOptions o(32, 4);
  nn::BlockStack stack(o, 2);
  torch::NoGradGuard ng;
  const int64_t B = 5;
  auto c = torch::randn({B, 3, 32});  // (B, T, C)
  auto y = torch::randn({B, 3, 32});
  std::vector<nn::KVCache> cache;  // (B, H, 6, hd) per block, rows 1 and 3 left-padded
  stack->forward(torch::randn({B, 6, 32}), nullptr, &cache);
  for (auto& kv : cache) kv.offset = torch::tensor({0, 2, 0, 4, 1}, torch::kLong);
  auto idx = torch::tensor({1, 3, 4}, torch::kLong);
  const std::vector<const std::vector<nn::KVCache>*> pasts = {nullptr, &cache};
  for (const auto* past : pasts) {
    auto full = models::residual_map(stack, c, past)(y).index_select(0, idx);            // (3, T, C)
    auto part = models::residual_rows(stack, c, past)(idx)(y.index_select(0, idx));      // (3, T, C)
    const double err = (full - part).abs().max().item<double>();
    std::printf("  cache %d: max |rows of f(y) - f_rows(y_rows)| = %.3e\n", past != nullptr, err);
    EXPECT_LT(err, 1e-6);
  }
}

TEST(ClosedLoop, CompactedSolveGivesTheSameModelOutput) {
  for (const std::string fam : {"deq", "attractor"}) {
    torch::manual_seed(7);
    auto cfg = test::tiny(fam);
    cfg.solver.freeze = true;
    cfg.solver.eval_tol = fam == "deq" ? 1e-6 : 1e-4;  // tolerances at which the rows' step counts differ
    auto m = models::make_model(cfg);
    m->eval();
    torch::NoGradGuard ng;
    auto tokens = torch::randint(0, cfg.vocab, {8, 12}, torch::kLong);
    auto on = m->forward(tokens);
    auto off_cfg = cfg;
    off_cfg.solver.compact = 0;
    auto twin = models::make_model(off_cfg);
    twin->eval();
    for (size_t i = 0; i < m->parameters().size(); ++i) twin->parameters()[i].copy_(m->parameters()[i]);
    auto off = twin->forward(tokens);
    const double err = (on.logits - off.logits).abs().max().item<double>();
    std::string steps;
    for (int64_t b = 0; b < on.stats.steps.size(0); ++b) steps += " " + std::to_string(int64_t(on.stats.steps[b].item<double>()));
    std::printf("  %s: steps per row%s, max |logits compacted - not| = %.3e\n", fam.c_str(), steps.c_str(), err);
    // The steps must differ between rows, or nothing was dropped and the test shows nothing.
    EXPECT_GT(on.stats.steps.max().item<double>(), on.stats.steps.min().item<double>()) << fam;
    EXPECT_TRUE(torch::equal(on.stats.steps, off.stats.steps)) << fam;
    EXPECT_LT(err, 1e-5) << fam;
  }
}

}  // namespace
}  // namespace eqt
