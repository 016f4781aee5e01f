// eqt/infer/batch_decoder.h — continuous batching: sequences join and leave between tokens.
//
// add() prefills a new sequence's prompt alone (its own DecodeCache, one forward_cached) and
// draws its first token; step() then computes the next token of every live sequence as one
// ragged batch (ModelImpl::forward_rows: each row at its own length, with its own sampler
// and stop rules), and a finished sequence leaves the batch at once (its on_done is called).
// Inside the batch the solver freezes each row when *its* token has converged and EqT halts
// per row, so a row's tokens, steps and residuals are the ones generate() gives it alone
// (tests/infer/test_batch_decoder.cpp checks greedy output for every family); the batch's
// forward still runs until its slowest row has converged. A sequence may carry its own
// refinement limits (GenerateOptions::limits, over the decoder's): the rows of one step are
// grouped by their limits and each group is one forward_rows call.
// What it is not: thread-safe (one thread calls add and step: the server's decode loop), or
// a batched prefill (prompts run one at a time; decoding is what is batched).
#pragma once

#include "eqt/infer/sequence.h"

#include <memory>

namespace eqt::infer {

class BatchDecoder {
 public:
  using OnDone = std::function<void(const GenerateResult&)>;
  // limits: the refinement of every row whose GenerateOptions give none (RefineLimits::over).
  BatchDecoder(models::ModelImpl& model, models::RefineLimits limits = {});
  ~BatchDecoder();
  // Throws as generate() does for a bad prompt, options or limits (nothing is added then).
  void add(std::vector<int64_t> prompt, const GenerateOptions& o, Sequence::OnToken on_token = {},
           OnDone on_done = {});
  // One token for every live sequence (nothing when none is live).
  void step();
  size_t size() const { return live_.size(); }
  // Ends every live sequence now with result().stop = why (their on_done is called).
  void end_all(const std::string& why);

 private:
  struct Live;
  void finish_ended();  // calls on_done of the sequences that ended and drops them
  models::ModelImpl& model_;
  models::RefineLimits limits_;
  std::vector<std::unique_ptr<Live>> live_;
};

// Every prompt generated together through a BatchDecoder; result i belongs to prompts[i].
std::vector<GenerateResult> generate_batch(models::ModelImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerateOptions& o, const models::RefineLimits& limits = {});

}  // namespace eqt::infer
