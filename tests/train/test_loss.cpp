// The training losses against closed forms: stablemax cross-entropy by hand on a small case
// (s(x) = x + 1 for x >= 0, 1 / (1 - x) below), ignored targets skipped, and its gradient
// against a float64 central difference.
#include "eqt/data/task.h"
#include "eqt/train/loss.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace eqt;

namespace {

TEST(StablemaxLoss, EqualsTheClosedForm) {
  // Row 1: logits (0, 1, -1) -> s = (1, 2, 0.5), target 1: -log(2 / 3.5).
  // Row 2: logits (3, -3, 0) -> s = (4, 0.25, 1), target 2: -log(1 / 5.25).
  auto logits = torch::tensor({{0.0, 1.0, -1.0}, {3.0, -3.0, 0.0}, {5.0, 5.0, 5.0}}, torch::kFloat32).view({1, 3, 3});
  auto targets = torch::tensor({int64_t(1), int64_t(2), int64_t(data::kIgnore)}, torch::kLong).view({1, 3});
  const double want = (-std::log(2.0 / 3.5) - std::log(1.0 / 5.25)) / 2.0;
  const double got = train::stablemax_loss(logits, targets).item<double>();
  std::printf("  stablemax loss %.9f, closed form %.9f\n", got, want);
  EXPECT_NEAR(got, want, 1e-6);
  // With an explicit count (the global batch's targets), the sum is divided by it.
  EXPECT_NEAR(train::stablemax_loss(logits, targets, 4).item<double>(), want * 2.0 / 4.0, 1e-6);
}

TEST(StablemaxLoss, GradientMatchesAFiniteDifference) {
  torch::manual_seed(0);
  auto x0 = torch::randn({2, 3, 5}, torch::kFloat64) * 2;
  x0[0][0][0] = 1.0;  // where 1 / (1 - x), the branch not taken, is infinite
  x0[0][1][2] = 0.0;
  auto x = x0.requires_grad_(true);
  auto t = torch::randint(5, {2, 3}, torch::kLong);
  train::stablemax_loss(x, t).backward();
  auto g = x.grad().clone();
  double worst = 0;
  const double h = 1e-6;
  auto flat = x.detach().clone().view({-1});
  for (int64_t i = 0; i < flat.numel(); ++i) {
    auto up = flat.clone(), down = flat.clone();
    up[i] += h;
    down[i] -= h;
    const double fd = (train::stablemax_loss(up.view({2, 3, 5}), t).item<double>() -
                       train::stablemax_loss(down.view({2, 3, 5}), t).item<double>()) / (2 * h);
    worst = std::max(worst, std::abs(fd - g.view({-1})[i].item<double>()));
  }
  std::printf("  stablemax gradient vs central difference: max |d| %.2e\n", worst);
  EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << "a logit of exactly 1 gave a NaN gradient";
  EXPECT_LT(worst, 1e-6);
}

}  // namespace
