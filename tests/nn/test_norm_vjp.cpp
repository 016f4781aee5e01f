// Norm's closed-form vector-Jacobian product against autograd of its forward, in float64,
// for both kinds, with non-trivial weight and bias.
#include "eqt/nn/norm.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

TEST(NormVjp, MatchesAutogradInFloat64) {
  for (const char* kind : {"rms", "layer"}) {
    torch::manual_seed(3);
    nn::Norm norm(nn::NormOptions(24, kind));
    norm->to(torch::kFloat64);
    {
      torch::NoGradGuard ng;
      for (auto& p : norm->parameters()) p.copy_(torch::randn_like(p));
    }
    auto x = (torch::randn({3, 5, 24}, torch::kFloat64) * 2 + 0.5).requires_grad_(true);
    auto dy = torch::randn({3, 5, 24}, torch::kFloat64);
    auto want = torch::autograd::grad({norm(x)}, {x}, {dy})[0];
    auto got = norm->vjp(x.detach(), dy);
    const double err = (got - want).abs().max().item<double>();
    std::printf("%s norm: max |closed form - autograd| %.3g\n", kind, err);
    EXPECT_LT(err, 1e-12) << kind;
  }
}

}  // namespace
