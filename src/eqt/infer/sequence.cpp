// eqt/infer/sequence.cpp — see sequence.h.
#include "eqt/infer/sequence.h"

#include <stdexcept>

namespace eqt::infer {
namespace {

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

torch::Device device_of(const models::ModelImpl& model) {
  auto params = model.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

torch::Tensor token_row(const std::vector<int64_t>& ids, torch::Device dev) {
  return torch::tensor(ids, torch::kInt64).view({1, int64_t(ids.size())}).to(dev);
}

Sequence::Sequence(const models::ModelConfig& cfg, std::vector<int64_t> prompt, const GenerateOptions& o,
                   OnToken on_token)
    : max_seq_(cfg.max_seq), max_new_(o.max_new_tokens()), sampler_(o.sampling()), on_token_(std::move(on_token)),
      seq_(std::move(prompt)) {
  check_prompt(cfg, seq_);
  if (max_new_ < 0)
    throw std::invalid_argument("max_new_tokens = " + std::to_string(max_new_) + " is invalid; expected >= 0");
  r_.prompt_tokens = int64_t(seq_.size());
}

bool Sequence::wants_more() {
  if (ended_) return false;
  if (int64_t(r_.tokens.size()) >= max_new_) {
    ended_ = true;  // stop stays "length"
  } else if (int64_t(seq_.size()) > max_seq_) {  // the next position would lie beyond the context
    r_.stop = "context";
    ended_ = true;
  }
  return !ended_;
}

bool Sequence::take(const torch::Tensor& logits, double steps, double residual, double ms) {
  TokenEvent ev;
  ev.index = int64_t(r_.tokens.size());
  ev.logits = logits.to(torch::kCPU, torch::kFloat32);  // (V,)
  ev.token = sampler_.sample(ev.logits);
  ev.ms = ms;
  ev.steps = steps;
  ev.residual = residual;
  (ev.index == 0 ? r_.prefill_ms : r_.decode_ms) += ms;
  r_.tokens.push_back(ev.token);
  r_.steps.push_back(steps);
  r_.residual.push_back(residual);
  seq_.push_back(ev.token);
  if (on_token_ && !on_token_(ev)) {
    r_.stop = "callback";
    ended_ = true;
  }
  return wants_more();
}

}  // namespace eqt::infer
