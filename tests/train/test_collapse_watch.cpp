// CollapseWatch: the chance loss is the entropy of the targets' frequencies (closed form),
// each condition is reported once after `patience` steps and once when it ends.
#include "eqt/data/task.h"
#include "eqt/train/collapse_watch.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace eqt;

namespace {

TEST(CollapseWatch, ChanceIsTheTargetEntropy) {
  train::CollapseWatch w(train::CollapseWatchOptions(), 10);
  // 3 of digit 1, 1 of digit 2, ignored positions not counted: H = -(3/4 ln 3/4 + 1/4 ln 1/4).
  w.observe_targets(torch::tensor({int64_t(1), int64_t(1), data::kIgnore, int64_t(1), int64_t(2), data::kIgnore}).view({2, 3}));
  const double want = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  std::printf("chance %.12f, closed form %.12f\n", w.chance_loss(), want);
  EXPECT_NEAR(w.chance_loss(), want, 1e-12);
}

TEST(CollapseWatch, ReportsOnceAfterPatienceAndWhenItEnds) {
  train::CollapseWatch w(train::CollapseWatchOptions().cap(32).patience(5).grace(0), 2);
  w.observe_targets(torch::tensor({int64_t(0), int64_t(1)}).view({1, 2}));  // chance = ln 2
  std::vector<std::string> all;
  auto run = [&](int64_t from, int64_t to, double loss, double steps, double res) {
    for (int64_t s = from; s < to; ++s)
      for (auto& m : w.update(s, loss, steps, res)) all.push_back(m);
  };
  run(1, 5, 0.69, 32, 0.5);  // 4 steps at chance, at cap, diverging: not yet reported
  EXPECT_TRUE(all.empty());
  run(5, 20, 0.69, 32, 0.5);  // reported exactly once each
  ASSERT_EQ(all.size(), 3u);
  EXPECT_NE(all[0].find("at cap"), std::string::npos) << all[0];
  EXPECT_NE(all[1].find("diverg"), std::string::npos) << all[1];
  EXPECT_NE(all[2].find("at chance"), std::string::npos) << all[2];
  all.clear();
  run(20, 30, 0.2, 10, 1e-4);  // learning again: three "no longer" notes
  ASSERT_EQ(all.size(), 3u);
  for (const auto& m : all) EXPECT_NE(m.find("no longer"), std::string::npos) << m;
  all.clear();
  run(30, 60, 0.2, 10, 1e-4);
  EXPECT_TRUE(all.empty());
}

}  // namespace
