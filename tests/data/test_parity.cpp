// Cumulative parity: targets against a direct loop, and sets fixed by the seed.
#include "eqt/data/parity.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

TEST(Parity, TargetsAreCumulativeXor) {
  data::ParityOptions o;
  o.length = 12;
  o.n_train = 50;
  o.n_test = 20;
  data::ParityTask task(o);
  for (const auto& b : task.eval_batches(7)) {
    auto bits = b.tokens.accessor<int64_t, 2>();
    auto y = b.targets.accessor<int64_t, 2>();
    for (int64_t i = 0; i < b.tokens.size(0); ++i) {
      int64_t acc = 0;
      for (int64_t t = 0; t < 12; ++t) {
        acc ^= bits[i][t];
        ASSERT_EQ(y[i][t], acc);
      }
    }
  }
}

TEST(Parity, SetsAreFixedBySeed) {
  data::ParityOptions o;
  o.n_train = 64;
  o.n_test = 32;
  data::ParityTask a(o), b(o);
  EXPECT_TRUE(torch::equal(a.eval_batches(32)[0].tokens, b.eval_batches(32)[0].tokens));
  o.seed = 1;
  data::ParityTask c(o);
  EXPECT_FALSE(torch::equal(a.eval_batches(32)[0].tokens, c.eval_batches(32)[0].tokens));
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(5), g2 = at::make_generator<at::CPUGeneratorImpl>(5);
  EXPECT_TRUE(torch::equal(a.train_batch(16, g1).tokens, b.train_batch(16, g2).tokens));
  EXPECT_THROW(data::ParityTask(data::ParityOptions{0, 1, 1, 0}), std::invalid_argument);
}

}  // namespace
