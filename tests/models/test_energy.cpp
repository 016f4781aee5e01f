// EqT's energy in float32 at large reverse-attention scores, against the same module in
// float64. Scores tens apart are what training produces (an EqT maze run reached a gap of 46
// between a window's best score and a prefix's, and its float32 backward went NaN at step
// 225); the float32 value, its gradient in h and the second derivative that EqT's unrolled
// training takes must stay finite and close to float64's.
#include "eqt/models/energy.h"
#include "models/tiny.h"

#include <gtest/gtest.h>

namespace eqt {
namespace {

double rel_err(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got.to(torch::kFloat64) - want).abs().max() / want.abs().max().clamp_min(1e-300)).item<double>();
}

TEST(Energy, ReverseAttentionStaysAccurateAtLargeScoreGaps) {
  auto cfg = test::tiny("eqt");
  cfg.eqt.lambda_rev = 1.0;
  cfg.eqt.lambda_mask = 0;
  cfg.eqt.lambda_conf = 0;
  cfg.eqt.rev_window = 8;
  torch::manual_seed(3);
  models::TokenIO io(cfg);
  models::Energy energy(cfg, io);
  const int64_t B = 4, T = 12;
  auto tokens = torch::randint(0, cfg.vocab, {B, T}, torch::kLong);
  auto h0 = torch::randn({B, T, cfg.block.d_model});
  auto rev_q = energy->named_parameters()["rev_q.weight"];  // (C, C)
  // The scores s (B, T, W-1) the reverse attention softmaxes (invalid sources at -1e9).
  auto scores = [&]() {
    torch::NoGradGuard ng;
    auto ctx = energy->prepare(tokens, 0, T);
    auto q = torch::matmul(h0.to(rev_q.scalar_type()), rev_q.t()) / std::sqrt(double(cfg.block.d_model));  // (B, T, C)
    auto s = torch::matmul(q, ctx.keys.t()).gather(2, ctx.src_tok);                                     // (B, T, W-1)
    return std::make_pair(s, ctx.src_valid);
  };
  {
    torch::NoGradGuard ng;  // scores scaled to a standard deviation of 25: gaps of 50-80 appear
    auto [s, valid] = scores();
    rev_q.mul_(25.0 / s.masked_select(valid.expand_as(s)).std().item<double>());
  }
  double gap = 0;  // the largest gap between a row's best score and a prefix's best
  {
    auto [s, valid] = scores();
    s = s.masked_fill(valid.logical_not(), -1e9);
    auto m = std::get<0>(s.max(-1, true)).clamp_min(0);
    auto c = std::get<0>(s.cummax(2)).clamp_min(0);
    gap = (m - c).max().item<double>();
  }
  // Value, gradient in h, and d/d(parameters) of <grad, 1>: the unrolled training's second order.
  auto run = [&](torch::Dtype dt) {
    io->to(dt);
    energy->to(dt);
    auto ctx = energy->prepare(tokens, 0, T);
    auto h = h0.to(dt).requires_grad_(true);
    auto e = energy->forward(h, ctx);                                                  // (B, T)
    auto g = torch::autograd::grad({e.sum()}, {h}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];  // (B, T, C)
    auto gp = torch::autograd::grad({g.sum()}, energy->parameters(), {}, false, false, /*allow_unused=*/true);
    std::vector<torch::Tensor> flat;
    for (auto& t : gp)
      if (t.defined()) flat.push_back(t.flatten());
    return std::vector<torch::Tensor>{e.detach(), g.detach(), torch::cat(flat)};
  };
  auto ref = run(torch::kFloat64);
  auto got = run(torch::kFloat32);
  const char* what[] = {"energy", "d energy / dh", "d <dE/dh, 1> / d params"};
  double worst = 0;
  for (int i = 0; i < 3; ++i) {
    const bool finite = torch::isfinite(got[i]).all().item<bool>();
    const double err = finite ? rel_err(got[i], ref[i]) : INFINITY;
    std::printf("%-24s float32 vs float64: max rel err %.3g (finite %d)\n", what[i], err, int(finite));
    EXPECT_TRUE(finite) << what[i];
    EXPECT_LT(err, 1e-3) << what[i];
    worst = std::max(worst, err);
  }
  std::printf("largest score gap %.1f (must exceed 44, where den^2 underflows float32); worst error %.3g\n", gap, worst);
  EXPECT_GT(gap, 50.0) << "the scores are not spread enough to test the regime that failed";
  EXPECT_LT(gap, 85.0) << "beyond ~87 float32's forward itself underflows: outside what this tests";
}

}  // namespace
}  // namespace eqt

// The memory bank's moving-average update (issue 29) against its closed form: states on
// two keys' directions move those keys half way (momentum 0.5) and renormalise them, the
// weights become 0.5 r + 0.5 (share of the states), the other keys stay where they were.
TEST(EnergyMemory, UpdateIsTheMovingAverageOfTheNearestStates) {
  auto cfg = eqt::test::tiny("eqt");
  cfg.eqt.memory = true;
  cfg.eqt.mem_slots = 4;
  cfg.eqt.mem_momentum = 0.5;
  torch::manual_seed(3);
  eqt::models::TokenIO io(cfg);
  eqt::models::Energy energy(cfg, io);
  auto buffers = energy->named_buffers();
  auto keys = buffers["mem_keys"].clone(), weights = buffers["mem_weights"].clone();  // (4, C), (4,)
  const int64_t C = keys.size(1);
  // Three states near key 1 (scaled, plus a small push), one exactly along key 2.
  auto push = torch::zeros({C});
  push[0] = 0.01;
  auto states = torch::stack({3 * keys[1], 2 * keys[1] + push, 5 * keys[1], 0.5 * keys[2]}).view({2, 2, C});
  energy->update_memory(states);
  auto u = states.view({4, C});
  u = u / u.norm(2, 1, true);
  auto mean1 = u.slice(0, 0, 3).mean(0);
  auto want1 = 0.5 * keys[1] + 0.5 * mean1;
  want1 = want1 / want1.norm();
  auto want2 = 0.5 * keys[2] + 0.5 * u[3];
  want2 = want2 / want2.norm();
  auto now = energy->named_buffers();
  const double e1 = (now["mem_keys"][1] - want1).abs().max().item<double>();
  const double e2 = (now["mem_keys"][2] - want2).abs().max().item<double>();
  const double e0 = (now["mem_keys"][0] - keys[0]).abs().max().item<double>();
  auto want_w = 0.5 * weights + 0.5 * torch::tensor({0.0, 0.75, 0.25, 0.0});
  const double ew = (now["mem_weights"] - want_w).abs().max().item<double>();
  std::printf("memory update: key errors %.3g %.3g, untouched key %.3g, weight error %.3g\n", e1, e2, e0, ew);
  EXPECT_LT(e1, 1e-6);
  EXPECT_LT(e2, 1e-6);
  EXPECT_EQ(e0, 0.0);
  EXPECT_LT(ew, 1e-7);
  EXPECT_NEAR(now["mem_weights"].sum().item<double>(), 1.0, 1e-6) << "the weights stay a distribution";
}
