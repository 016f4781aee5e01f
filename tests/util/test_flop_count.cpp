// tests/util/test_flop_count.cpp — FlopCount against closed forms: the products of a
// Linear layer, its backward, a batched matmul, nothing outside the counter's lifetime.
#include "eqt/util/flop_count.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>

using eqt::util::FlopCount;

TEST(FlopCount, LinearForwardIsTwoMKN) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  const int64_t B = 3, T = 5, C = 16, D = 24;
  torch::nn::Linear lin(torch::nn::LinearOptions(C, D).bias(false));
  auto x = torch::randn({B, T, C});
  FlopCount count;
  lin(x);  // (B, T, D)
  const double want = 2.0 * B * T * C * D;
  std::printf("linear forward: counted %.0f, closed form %.0f\n", count.flops(), want);
  EXPECT_EQ(count.flops(), want);
}

TEST(FlopCount, BackwardAddsBothProducts) {
  torch::manual_seed(0);
  const int64_t M = 7, C = 12, D = 9;
  torch::nn::Linear lin(torch::nn::LinearOptions(C, D));  // with bias: addmm
  auto x = torch::randn({M, C}, torch::requires_grad());
  FlopCount count;
  lin(x).sum().backward();
  // forward 2MCD; backward: dL/dx = g W (2MDC) and dL/dW = g^T x (2DMC).
  const double want = 3 * 2.0 * M * C * D;
  std::printf("linear forward + backward: counted %.0f, closed form %.0f\n", count.flops(), want);
  EXPECT_EQ(count.flops(), want);
}

TEST(FlopCount, BatchedMatmulAndNothingOutside) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  auto a = torch::randn({4, 6, 8}), b = torch::randn({4, 8, 10});
  torch::matmul(a, b);  // before any counter: not counted anywhere
  double seen = 0;
  {
    FlopCount count;
    torch::matmul(a, b);  // (4, 6, 10)
    a + b.sum();          // elementwise work: not a product
    seen = count.flops();
  }
  const double want = 2.0 * 4 * 6 * 8 * 10;
  std::printf("bmm: counted %.0f, closed form %.0f\n", seen, want);
  EXPECT_EQ(seen, want);
  FlopCount again;  // a new count starts at 0 and the old callback is gone
  EXPECT_EQ(again.flops(), 0.0);
  EXPECT_THROW(FlopCount twice, std::logic_error);
}
