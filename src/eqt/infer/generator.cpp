// eqt/infer/generator.cpp — see generator.h.
#include "eqt/infer/generator.h"

#include "eqt/infer/sequence.h"

#include <chrono>
#include <numeric>

namespace eqt::infer {
namespace {

double stat(const torch::Tensor& t, double none) { return t.defined() ? t[0].item<double>() : none; }

}  // namespace

double GenerateResult::decode_tokens_per_s() const {
  return tokens.size() < 2 || decode_ms <= 0 ? 0.0 : double(tokens.size() - 1) / (decode_ms / 1000.0);
}

double GenerateResult::mean_decode_steps() const {
  if (steps.empty()) return 0.0;
  auto first = steps.size() > 1 ? steps.begin() + 1 : steps.begin();
  return std::accumulate(first, steps.end(), 0.0) / double(steps.end() - first);
}

GenerateResult generate(models::ModelImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& o,
                        const std::function<bool(const TokenEvent&)>& on_token) {
  Sequence s(model.config(), prompt, o, on_token);
  model.eval();
  torch::NoGradGuard ng;
  const auto dev = device_of(model);
  models::DecodeCache cache;
  for (bool more = s.wants_more(); more;) {
    const auto t0 = std::chrono::steady_clock::now();
    const bool first = s.result().tokens.empty();
    models::ModelOutput out = !o.cached() ? model.forward(token_row(s.tokens(), dev), o.limits())
                              : first     ? model.forward_cached(token_row(prompt, dev), cache, o.limits())
                                          : model.forward_cached(token_row({s.last()}, dev), cache, o.limits());
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    more = s.take(out.logits[0][-1], stat(out.stats.steps, 0), stat(out.stats.residual, NAN), ms);
  }
  return s.result();
}

}  // namespace eqt::infer
