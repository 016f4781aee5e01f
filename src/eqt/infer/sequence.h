// eqt/infer/sequence.h — one sequence being generated: its tokens so far, its sampler, its
// result record and the stop rules, shared by generate() (one sequence alone) and the
// BatchDecoder (many decoded together), so both stop and report the same way.
// What it is not: a model runner; the caller computes the logits and hands them in.
#pragma once

#include "eqt/infer/generator.h"

namespace eqt::infer {

class Sequence {
 public:
  using OnToken = std::function<bool(const TokenEvent&)>;
  // Throws std::invalid_argument for an empty or out-of-vocabulary prompt, one longer than
  // the model's context, or max_new_tokens < 0.
  Sequence(const models::ModelConfig& cfg, std::vector<int64_t> prompt, const GenerateOptions& o, OnToken on_token);

  // Whether another token is to be computed; when not, result().stop says why (length,
  // context) unless take() already ended it (callback).
  bool wants_more();
  // The token drawn from logits (V,) of the newest position, with the steps and residual
  // of the computation behind it and its wall time: recorded, passed to the callback.
  // Returns wants_more() (false also when the callback asked to stop).
  bool take(const torch::Tensor& logits, double steps, double residual, double ms);

  // Ends it now, result().stop = why (a server shutting down, a failed batch).
  void end(const std::string& why) {
    r_.stop = why;
    ended_ = true;
  }

  const std::vector<int64_t>& tokens() const { return seq_; }  // prompt + new tokens
  int64_t last() const { return seq_.back(); }
  const GenerateResult& result() const { return r_; }

 private:
  int64_t max_seq_, max_new_;
  Sampler sampler_;
  OnToken on_token_;
  std::vector<int64_t> seq_;
  GenerateResult r_;
  bool ended_ = false;
};

// Where the model's parameters live (the CPU for a model without any).
torch::Device device_of(const models::ModelImpl& model);
// ids -> (1, n) int64 on dev.
torch::Tensor token_row(const std::vector<int64_t>& ids, torch::Device dev);

}  // namespace eqt::infer
