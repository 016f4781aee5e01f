// eqt/infer/generator.cpp — see generator.h.
#include "eqt/infer/generator.h"

#include <chrono>
#include <numeric>
#include <stdexcept>

namespace eqt::infer {
namespace {

torch::Device device_of(const models::ModelImpl& model) {
  auto params = model.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

torch::Tensor row(const std::vector<int64_t>& ids, torch::Device dev) {  // -> (1, n) int64
  return torch::tensor(ids, torch::kInt64).view({1, int64_t(ids.size())}).to(dev);
}

void check_prompt(const models::ModelConfig& cfg, const std::vector<int64_t>& prompt) {
  if (prompt.empty()) throw std::invalid_argument("the prompt is empty; expected at least one token");
  if (int64_t(prompt.size()) > cfg.max_seq)
    throw std::invalid_argument("the prompt has " + std::to_string(prompt.size()) +
                                " tokens, more than the model's context of max_seq = " + std::to_string(cfg.max_seq));
  for (size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i] < 0 || prompt[i] >= cfg.vocab)
      throw std::invalid_argument("prompt token " + std::to_string(i) + " = " + std::to_string(prompt[i]) +
                                  " is outside the vocabulary [0, " + std::to_string(cfg.vocab) + ")");
}

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
  const auto& cfg = model.config();
  check_prompt(cfg, prompt);
  if (o.max_new_tokens() < 0)
    throw std::invalid_argument("max_new_tokens = " + std::to_string(o.max_new_tokens()) + " is invalid; expected >= 0");
  Sampler sampler(o.sampling());
  model.eval();
  torch::NoGradGuard ng;
  const auto dev = device_of(model);
  std::vector<int64_t> seq = prompt;
  models::DecodeCache cache;
  GenerateResult r;
  r.prompt_tokens = int64_t(prompt.size());
  for (int64_t i = 0; i < o.max_new_tokens(); ++i) {
    if (int64_t(seq.size()) > cfg.max_seq) {  // the next position would lie beyond the context
      r.stop = "context";
      break;
    }
    const auto t0 = std::chrono::steady_clock::now();
    models::ModelOutput out = !o.cached() ? model.forward(row(seq, dev), o.limits())
                              : i == 0    ? model.forward_cached(row(prompt, dev), cache, o.limits())
                                          : model.forward_cached(row({seq.back()}, dev), cache, o.limits());
    TokenEvent ev;
    ev.index = i;
    ev.logits = out.logits[0][-1].to(torch::kCPU, torch::kFloat32);  // (V,)
    ev.token = sampler.sample(ev.logits);
    ev.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (out.stats.steps.defined()) ev.steps = out.stats.steps[0].item<double>();
    if (out.stats.residual.defined()) ev.residual = out.stats.residual[0].item<double>();
    (i == 0 ? r.prefill_ms : r.decode_ms) += ev.ms;
    r.tokens.push_back(ev.token);
    r.steps.push_back(ev.steps);
    r.residual.push_back(ev.residual);
    seq.push_back(ev.token);
    if (on_token && !on_token(ev)) {
      r.stop = "callback";
      break;
    }
  }
  return r;
}

}  // namespace eqt::infer
