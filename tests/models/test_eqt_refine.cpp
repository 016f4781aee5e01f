// EqT's refinement options of issue 29, checked against what they must be: energy-threshold
// halting stops every sample before its first step when the threshold is above every
// energy (the output is then K = 0's) and changes nothing when it is below every energy
// (the energies here are >= 0); entropy-dependent step counts with a floor of K are the
// plain refinement bit for bit, and with a floor of 0 give each sample the mean over its
// tokens of ceil(K H_t / ln V) steps, recomputed here from the block's own output.
#include "models/tiny.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace eqt;

namespace {

std::shared_ptr<models::ModelImpl> eqt_model(const models::ModelConfig& c) {
  torch::manual_seed(11);
  auto m = models::make_model(c);
  m->eval();
  return m;
}

models::ModelConfig base() {
  auto c = test::tiny("eqt");
  c.n_layers = 1;
  c.eqt.eval_steps = 4;
  return c;
}

}  // namespace

TEST(EqTRefine, EnergyHaltingAtTheEnds) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(16, {3, 10}, torch::kLong);
  auto plain = eqt_model(base())->forward(tokens);
  auto none = base();
  none.eqt.eval_steps = 0;
  auto unrefined = eqt_model(none)->forward(tokens);
  auto high = base();
  high.eqt.halt_energy = 1e9;  // above every energy: no step taken
  auto h = eqt_model(high)->forward(tokens);
  auto low = base();
  low.eqt.halt_energy = 1e-30;  // below every energy (>= 0 here): every step taken
  auto l = eqt_model(low)->forward(tokens);
  const double e_high = (h.logits - unrefined.logits).abs().max().item<double>();
  const double e_low = (l.logits - plain.logits).abs().max().item<double>();
  std::printf("halt_energy 1e9 vs K = 0: %.3g; 1e-30 vs no halting: %.3g; steps %.2f / %.2f\n", e_high, e_low,
              h.stats.steps.mean().item<double>(), l.stats.steps.mean().item<double>());
  EXPECT_EQ(e_high, 0.0);
  EXPECT_EQ(h.stats.steps.max().item<double>(), 0.0);
  EXPECT_EQ(e_low, 0.0);
  EXPECT_EQ(l.stats.steps.min().item<double>(), 4.0);
  EXPECT_GT((plain.logits - unrefined.logits).abs().max().item<double>(), 1e-6) << "refinement must move something";
}

TEST(EqTRefine, EntropyStepCounts) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(16, {3, 10}, torch::kLong);
  auto plain = eqt_model(base())->forward(tokens);
  auto floor_k = base();
  floor_k.eqt.entropy_steps = true;
  floor_k.eqt.entropy_min_steps = 4;  // every token gets all K
  auto same = eqt_model(floor_k)->forward(tokens);
  EXPECT_TRUE(torch::equal(same.logits, plain.logits)) << "a floor of K must be the plain refinement";

  auto c = base();
  c.eqt.entropy_steps = true;
  c.eqt.entropy_min_steps = 0;
  auto m = eqt_model(c);
  for (auto& p : m->named_parameters())  // a peaked head: entropies spread over (0, ln V)
    if (p.key() == "embed.table") p.value().mul_(1.6);
  auto out = m->forward(tokens);
  // The block's output f and the steps each token should get, from the model's own modules.
  auto children = m->named_children();
  auto embed = std::dynamic_pointer_cast<models::TokenIOImpl>(children["embed"]);
  auto blocks = m->named_modules()["blocks.0"];
  ASSERT_TRUE(embed && blocks);
  auto x = embed->embed(tokens);
  auto f = blocks->as<nn::BlockImpl>()->forward(x);                    // (B, T, C)
  auto logp = torch::log_softmax(embed->logits(f), -1);
  auto H = -(logp.exp() * logp).sum(-1);                               // (B, T)
  auto want = (H / std::log(16.0) * 4).ceil().clamp(0, 4).to(torch::kFloat64).mean(1);  // (B,)
  const double err = (out.stats.steps - want).abs().max().item<double>();
  std::printf("entropy steps per sample: got %.3f %.3f %.3f, want %.3f %.3f %.3f (max err %.3g)\n",
              out.stats.steps[0].item<double>(), out.stats.steps[1].item<double>(), out.stats.steps[2].item<double>(),
              want[0].item<double>(), want[1].item<double>(), want[2].item<double>(), err);
  EXPECT_LT(err, 1e-9);
  EXPECT_LT(want.min().item<double>(), 4.0 - 1e-9) << "every token got all K steps: the case tests nothing";
}
