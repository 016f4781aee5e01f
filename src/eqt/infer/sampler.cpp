// eqt/infer/sampler.cpp — see sampler.h.
#include "eqt/infer/sampler.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace eqt::infer {

void validate(const SamplingOptions& o) {
  auto bad = [](const std::string& name, const std::string& value, const std::string& want) {
    throw std::invalid_argument(name + " = " + value + " is invalid; expected " + want);
  };
  if (!(o.temperature() >= 0) || !std::isfinite(o.temperature()))
    bad("temperature", std::to_string(o.temperature()), "a number >= 0 (0: greedy)");
  if (o.top_k() < 0) bad("top_k", std::to_string(o.top_k()), "an integer >= 0 (0: off)");
  if (!(o.top_p() > 0 && o.top_p() <= 1)) bad("top_p", std::to_string(o.top_p()), "a number in (0, 1] (1: off)");
}

Sampler::Sampler(const SamplingOptions& o) : o_(o), rng_(o.seed()) { validate(o); }

torch::Tensor Sampler::distribution(const torch::Tensor& logits) const {
  TORCH_CHECK(logits.dim() == 1, "sampler: logits must be (V,), got ", logits.sizes());
  auto l = logits.detach().to(torch::kCPU, torch::kFloat64);  // (V,)
  const int64_t V = l.size(0);
  if (o_.temperature() == 0) return torch::zeros({V}, torch::kFloat64).index_fill_(0, l.argmax(), 1.0);
  // The largest logit is subtracted before dividing: with a tiny temperature (1e-308) the
  // quotients overflow to -inf, never to +inf - inf = NaN, and the distribution tends to
  // the greedy one as it should.
  auto p = torch::softmax((l - l.max()) / o_.temperature(), 0);         // (V,)
  auto sorted = p.sort(0, /*descending=*/true);
  auto ps = std::get<0>(sorted), idx = std::get<1>(sorted);             // (V,) each
  int64_t keep = o_.top_k() > 0 ? std::min(o_.top_k(), V) : V;
  if (o_.top_p() < 1) {
    // The smallest prefix whose mass reaches p: count the tokens whose preceding mass < p.
    auto before = ps.cumsum(0) - ps;                                    // (V,) mass before each
    keep = std::min(keep, std::max<int64_t>(1, before.lt(o_.top_p()).sum().item<int64_t>()));
  }
  auto kept = torch::zeros({V}, torch::kFloat64);
  kept.index_copy_(0, idx.narrow(0, 0, keep), ps.narrow(0, 0, keep));
  return kept / kept.sum();
}

int64_t Sampler::sample(const torch::Tensor& logits) {
  auto p = distribution(logits);
  if (o_.temperature() == 0) return p.argmax().item<int64_t>();
  const double u = double(rng_() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
  auto cdf = p.cumsum(0);
  const auto* c = cdf.data_ptr<double>();
  const auto* pi = p.data_ptr<double>();
  const int64_t V = cdf.size(0);
  for (int64_t i = 0; i < V; ++i)
    if (u < c[i] && pi[i] > 0) return i;
  return p.argmax().item<int64_t>();  // u within rounding of 1: the most likely token
}

}  // namespace eqt::infer
