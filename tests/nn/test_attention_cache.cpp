// A key/value cache changes nothing: processing a prefix, then the rest against the cached
// keys and values, gives the same outputs as processing the whole sequence at once.
#include "eqt/nn/block.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

TEST(AttentionCache, PrefixPlusCachedSuffixEqualsFullSequence) {
  for (bool rope : {true, false}) {
    torch::manual_seed(41);
    nn::BlockOptions o(32, 4);
    o.attn().rope(rope).causal(true);
    nn::BlockStack stack(o, 2);
    torch::NoGradGuard ng;
    auto x = torch::randn({2, 10, 32});
    auto full = stack->forward(x);
    std::vector<nn::KVCache> cache;
    auto head = stack->forward(x.narrow(1, 0, 6), nullptr, &cache);
    std::vector<nn::KVCache> grown;
    auto tail = stack->forward(x.narrow(1, 6, 4), &cache, &grown);  // positions 6..9
    double err = std::max((head - full.narrow(1, 0, 6)).abs().max().item<double>(),
                          (tail - full.narrow(1, 6, 4)).abs().max().item<double>());
    std::printf("  rope %d: max |cached - full| = %.3e\n", rope, err);
    EXPECT_LT(err, 1e-5);
    EXPECT_EQ(grown[0].length(), 10);
    EXPECT_EQ(cache[1].length(), 6);  // the past cache is read, not modified
  }
}

}  // namespace
