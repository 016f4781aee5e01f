// eqt/infer/generator.h — autoregressive generation from a model, one token at a time.
//
// cached (the default): the prompt is processed once (prefill), then every new token is a
// single position run against the model's DecodeCache, so closed-loop families solve for
// that position only and stop when *its* state has converged (adaptive compute per token).
// recompute: every token runs forward() over the whole sequence so far — the reference
// that cached decoding must equal, and the baseline `eqt bench generate` measures against.
// The token emitted at step i is chosen from the logits of position P + i - 1; its steps
// and residual are that computation's (for i = 0: the prompt's, solved jointly).
// Generation stops at max_new_tokens, at the model's max_seq (the context is full), or
// when the callback returns false.
// What it is not: a tokenizer (ids in, ids out) or a batch of sequences (batch_decoder.h:
// many decoded together, each equal to what generate() gives it alone).
#pragma once

#include "eqt/infer/sampler.h"
#include "eqt/models/model.h"

#include <functional>
#include <string>
#include <vector>

namespace eqt::infer {

struct GenerateOptions {
  TORCH_ARG(int64_t, max_new_tokens) = 128;
  TORCH_ARG(bool, cached) = true;
  TORCH_ARG(SamplingOptions, sampling);
  TORCH_ARG(models::RefineLimits, limits);  // the refinement per token (over the model's eval settings)
};

struct TokenEvent {
  int64_t index = 0;         // 0 for the first new token
  int64_t token = 0;
  double steps = 0;          // solver / refinement steps behind its logits (0: open loop)
  double residual = NAN;     // final relative residual (NaN: no loop)
  double ms = 0;             // wall time of the computation that produced it
  torch::Tensor logits;      // (V,) float32 on the CPU
};

struct GenerateResult {
  std::vector<int64_t> tokens;            // the new tokens
  std::vector<double> steps, residual;    // per new token, as in TokenEvent
  int64_t prompt_tokens = 0;
  double prefill_ms = 0;                  // prompt -> first token
  double decode_ms = 0;                   // first token -> last token
  std::string stop = "length";            // length | context | callback

  // Tokens after the first per second of decode_ms (0 when fewer than two tokens).
  double decode_tokens_per_s() const;
  // Mean steps over the tokens after the first (the decode steps), or over all if only one.
  double mean_decode_steps() const;
};

// prompt: at least one token id in [0, vocab). on_token may be empty.
GenerateResult generate(models::ModelImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& o,
                        const std::function<bool(const TokenEvent&)>& on_token = {});

}  // namespace eqt::infer
