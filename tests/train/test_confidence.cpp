// The scores of issue 29's convergence signals, checked against what they must be: the AUROC
// against a brute-force count over every (right, wrong) pair, with ties; the coverage curve
// and the two answer choices (most converged, majority vote) on constructed cases.
#include "eqt/train/confidence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace eqt;

TEST(Confidence, AurocEqualsThePairCount) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 5 + trial * 7;
    std::vector<double> conf(static_cast<size_t>(n));
    std::vector<bool> right(static_cast<size_t>(n));
    std::uniform_int_distribution<int> level(0, 6);  // few levels: many ties
    for (int i = 0; i < n; ++i) {
      conf[size_t(i)] = level(rng);
      right[size_t(i)] = (rng() % 3) != 0;
    }
    right[0] = true;
    right[1] = false;
    double wins = 0, pairs = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if (right[size_t(i)] && !right[size_t(j)]) {
          pairs += 1;
          wins += conf[size_t(i)] > conf[size_t(j)] ? 1.0 : conf[size_t(i)] == conf[size_t(j)] ? 0.5 : 0.0;
        }
    const double got = train::auroc(conf, right);
    EXPECT_NEAR(got, wins / pairs, 1e-12) << "n = " << n << ": " << got << " vs the pair count " << wins / pairs;
  }
}

TEST(Confidence, AurocEndsAndUndefinedCases) {
  EXPECT_DOUBLE_EQ(train::auroc({0.1, 0.2, 0.8, 0.9}, {false, false, true, true}), 1.0);
  EXPECT_DOUBLE_EQ(train::auroc({0.9, 0.8, 0.2, 0.1}, {false, false, true, true}), 0.0);
  EXPECT_DOUBLE_EQ(train::auroc({0.5, 0.5, 0.5}, {true, false, true}), 0.5);
  EXPECT_TRUE(std::isnan(train::auroc({0.1, 0.2}, {true, true}))) << "one class only: undefined";
  EXPECT_TRUE(std::isnan(train::auroc({0.1, NAN}, {true, false}))) << "a NaN confidence: undefined";
  EXPECT_THROW(train::auroc({0.1}, {true, false}), std::invalid_argument);
}

TEST(Confidence, CoverageCurveAnswersTheSurestFirst) {
  // Confidences 4 > 3 > 2 > 1 with answers right, right, wrong, right.
  auto c = train::coverage_curve({2, 4, 1, 3}, {false, true, true, true}, 4);
  ASSERT_EQ(c.size(), 4u);
  const double want[] = {1.0, 1.0, 2.0 / 3, 3.0 / 4};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_DOUBLE_EQ(c[k]["accuracy"].get<double>(), want[k]) << "coverage " << c[k]["coverage"];
    EXPECT_EQ(c[k]["answered"].get<int64_t>(), int64_t(k + 1));
  }
  EXPECT_THROW(train::coverage_curve({1}, {true}, 0), std::invalid_argument);
}

TEST(Confidence, MostConvergedPicksTheLowestScore) {
  const double nan = std::nan("");
  auto s = torch::tensor({3.0, 1.0, 2.0,  //
                          nan, 5.0, 5.0,  // NaN is +inf; the first of a tie
                          nan, nan, nan,  // no score: the first
                          0.5, 0.25, 0.125},
                         torch::kFloat64)
               .view({4, 3});
  auto idx = train::most_converged(s);
  EXPECT_EQ(idx[0].item<int64_t>(), 1);
  EXPECT_EQ(idx[1].item<int64_t>(), 1);
  EXPECT_EQ(idx[2].item<int64_t>(), 0);
  EXPECT_EQ(idx[3].item<int64_t>(), 2);
  EXPECT_THROW(train::most_converged(torch::zeros({3})), std::invalid_argument);
}

TEST(Confidence, MajorityVoteTakesTheMostSharedWholeAnswer) {
  // Puzzle 0: answers A, B, B, A, B -> B (restart 1). Puzzle 1: A, B, A, B, C -> a tie: A
  // (restart 0). Puzzle 2: (1, 2), (1, 3), (4, 4), (4, 4), (1, 3): answers differing in one
  // cell are different answers, so (1, 3) and (4, 4) tie at 2 votes -> restart 1.
  auto a = torch::tensor({1, 2, 9, 9, 9, 9, 1, 2, 9, 9,  //
                          1, 2, 3, 4, 1, 2, 3, 4, 5, 6,  //
                          1, 2, 1, 3, 4, 4, 4, 4, 1, 3},
                         torch::kLong)
               .view({3, 5, 2});
  auto idx = train::majority_vote(a);
  EXPECT_EQ(idx[0].item<int64_t>(), 1);
  EXPECT_EQ(idx[1].item<int64_t>(), 0);
  EXPECT_EQ(idx[2].item<int64_t>(), 1);
}
