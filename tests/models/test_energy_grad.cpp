// EqT's closed-form energy value and gradient (energy_grad.cpp) against autograd of the
// energy's forward, in float64: every term alone and all together, both norm kinds, a
// window of one and of several targets, whole sequences and a later chunk (pos0 > 0).
#include "eqt/models/energy.h"
#include "models/tiny.h"

#include <gtest/gtest.h>

namespace eqt {
namespace {

struct Case {
  const char* name;
  double rev, mask, conf;
  int64_t window;
  const char* norm;
  double mem = 0;  // > 0: the memory term on (issue 29), at this weight
};

TEST(EnergyGrad, ClosedFormMatchesAutogradInFloat64) {
  const Case cases[] = {{"all terms", 1.0, 0.5, 0.2, 4, "rms"},   {"all terms, layer norm", 1.0, 0.5, 0.2, 4, "layer"},
                        {"reverse alone", 1.0, 0, 0, 5, "rms"}, {"reverse, window 1", 1.0, 0, 0, 1, "rms"},
                        {"mask alone", 0, 1.0, 0, 4, "rms"},    {"confidence alone", 0, 0, 1.0, 4, "layer"},
                        {"memory alone", 0, 0, 0, 4, "rms", 1.0}, {"all terms, memory", 1.0, 0.5, 0.2, 4, "rms", 0.1}};
  double worst = 0;
  for (const auto& k : cases)
    for (int64_t pos0 : {0, 6}) {
      auto cfg = test::tiny("eqt");
      cfg.eqt.lambda_rev = k.rev;
      cfg.eqt.lambda_mask = k.mask;
      cfg.eqt.lambda_conf = k.conf;
      cfg.eqt.rev_window = k.window;
      cfg.eqt.mask_ratio = 0.4;
      cfg.block.norm = k.norm;
      cfg.eqt.memory = k.mem > 0;
      cfg.eqt.lambda_mem = k.mem;
      cfg.eqt.mem_slots = 5;
      cfg.eqt.mem_tau = 0.2;
      torch::manual_seed(7);
      models::TokenIO io(cfg);
      models::Energy energy(cfg, io);
      io->to(torch::kFloat64);
      energy->to(torch::kFloat64);
      {
        torch::NoGradGuard ng;  // weights away from their initial values (norm weights of 1, ...)
        for (auto& p : energy->parameters()) p.add_(torch::randn_like(p) * 0.3);
        for (auto& p : io->parameters()) p.add_(torch::randn_like(p) * 0.3);
        for (auto& b : energy->named_buffers())  // memory: unequal slot weights that sum to 1
          if (b.key() == "mem_weights") b.value().copy_(torch::rand_like(b.value()) + 0.1).div_(b.value().sum());
      }
      const int64_t B = 2, T = 7;
      auto tokens = torch::randint(0, cfg.vocab, {B, pos0 + T}, torch::kLong);
      auto ctx = energy->prepare(tokens, pos0, T);
      auto h = torch::randn({B, T, cfg.block.d_model}, torch::kFloat64).requires_grad_(true);
      auto e = energy->forward(h, ctx);                                      // (B, T)
      auto want = torch::autograd::grad({e.sum()}, {h})[0];                  // (B, T, C)
      auto [value, got] = energy->value_and_grad(h.detach(), ctx);
      const double err_v = (value - e.detach()).abs().max().item<double>();
      const double err_g = (got - want).abs().max().item<double>();
      std::printf("%-22s pos0 %lld: max |value err| %.3g, max |grad err| %.3g (grad scale %.3g)\n", k.name,
                  (long long)pos0, err_v, err_g, want.abs().max().item<double>());
      EXPECT_LT(err_v, 1e-10) << k.name;
      EXPECT_LT(err_g, 1e-10) << k.name;
      EXPECT_GT(want.abs().max().item<double>(), 1e-3) << k.name << ": a vanishing gradient tests nothing";
      worst = std::max({worst, err_v, err_g});
    }
  std::printf("worst error %.3g\n", worst);
}

TEST(EnergyGrad, TheBlockPredictorHasNoClosedForm) {
  auto cfg = test::tiny("eqt");
  cfg.eqt.reverse = "block";
  models::TokenIO io(cfg);
  models::Energy energy(cfg, io);
  EXPECT_FALSE(energy->has_closed_form());
  auto tokens = torch::randint(0, cfg.vocab, {1, 4}, torch::kLong);
  auto ctx = energy->prepare(tokens, 0, 4);
  EXPECT_THROW(energy->value_and_grad(torch::randn({1, 4, cfg.block.d_model}), ctx), c10::Error);
}

}  // namespace
}  // namespace eqt
