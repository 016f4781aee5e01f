// The sampler against closed forms: temperature, top-k and top-p distributions computed by
// hand, greedy, seeds, and empirical frequencies of 20,000 draws against the distribution.
#include "eqt/infer/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace eqt;

namespace {

const std::vector<double> kLogits = {2.0, 1.0, 0.0, -1.0, 0.5};

torch::Tensor logits() { return torch::tensor(kLogits, torch::kFloat32); }

// softmax(l / T) restricted to `keep` and renormalised, by hand.
std::vector<double> expected(double T, const std::vector<int>& keep) {
  std::vector<double> p(kLogits.size(), 0.0);
  double z = 0;
  for (int i : keep) z += std::exp(kLogits[i] / T);
  for (int i : keep) p[i] = std::exp(kLogits[i] / T) / z;
  return p;
}

double max_diff(const torch::Tensor& got, const std::vector<double>& want) {
  double m = 0;
  for (size_t i = 0; i < want.size(); ++i) m = std::max(m, std::abs(got[i].item<double>() - want[i]));
  return m;
}

TEST(Sampler, DistributionsMatchClosedForms) {
  // Sorted by probability the tokens are 0, 1, 4, 2, 3.
  struct Case { double T; int64_t k; double p; std::vector<int> keep; };
  // softmax at T = 1: 0.563, 0.207, 0.076, 0.028, 0.126 -> sorted cumulative 0.563, 0.770, 0.896, ...
  std::vector<Case> cases = {{1.0, 0, 1.0, {0, 1, 2, 3, 4}}, {0.5, 0, 1.0, {0, 1, 2, 3, 4}},
                             {1.0, 2, 1.0, {0, 1}},          {1.0, 0, 0.6, {0, 1}},
                             {1.0, 0, 0.75, {0, 1}},         {1.0, 0, 0.8, {0, 1, 4}},      {1.0, 0, 0.4, {0}},
                             {2.0, 3, 0.99, {0, 1, 4}}};
  double worst = 0;
  for (const auto& c : cases) {
    infer::Sampler s(infer::SamplingOptions().temperature(c.T).top_k(c.k).top_p(c.p));
    double d = max_diff(s.distribution(logits()), expected(c.T, c.keep));
    worst = std::max(worst, d);
    EXPECT_LT(d, 1e-6) << "T " << c.T << " k " << c.k << " p " << c.p;
  }
  std::printf("  max |p - closed form| = %.3e\n", worst);
}

TEST(Sampler, GreedyIsTheArgmax) {
  infer::Sampler s(infer::SamplingOptions().temperature(0));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(logits()), 0);
  EXPECT_EQ(s.sample(torch::tensor({0.f, 3.f, 1.f})), 1);
}

TEST(Sampler, FrequenciesFollowTheDistributionAndSeedsRepeat) {
  auto o = infer::SamplingOptions().temperature(1.0).top_k(4).seed(11);
  infer::Sampler a(o), b(o);
  const int n = 20000;
  std::vector<int> count(5, 0);
  for (int i = 0; i < n; ++i) {
    int64_t t = a.sample(logits());
    ASSERT_EQ(t, b.sample(logits())) << "same seed, different draw " << i;
    ++count[t];
  }
  auto p = expected(1.0, {0, 1, 2, 4});
  double worst = 0;  // in standard errors
  for (int i = 0; i < 5; ++i) {
    double se = std::sqrt(std::max(p[i] * (1 - p[i]), 1e-12) / n);
    double z = std::abs(count[i] / double(n) - p[i]) / se;
    if (p[i] == 0) EXPECT_EQ(count[i], 0) << "token " << i << " is outside the top k";
    else worst = std::max(worst, z);
  }
  std::printf("  worst deviation %.2f standard errors\n", worst);
  EXPECT_LT(worst, 4.5);
  infer::Sampler c(o.seed(12));
  int differ = 0;
  infer::Sampler a2(o.seed(11));
  for (int i = 0; i < 50; ++i) differ += a2.sample(logits()) != c.sample(logits());
  EXPECT_GT(differ, 0) << "another seed drew the same 50 tokens";
}

TEST(Sampler, BadOptionsNameTheValue) {
  auto message = [](const infer::SamplingOptions& o) {
    try {
      infer::validate(o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(infer::SamplingOptions().temperature(-1)).find("temperature = -1"), std::string::npos);
  EXPECT_NE(message(infer::SamplingOptions().top_p(0)).find("top_p = 0"), std::string::npos);
  EXPECT_NE(message(infer::SamplingOptions().top_p(1.5)).find("expected a number in (0, 1]"), std::string::npos);
  EXPECT_NE(message(infer::SamplingOptions().top_k(-2)).find("top_k = -2"), std::string::npos);
}

}  // namespace
