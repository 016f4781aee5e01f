// cli/inference_model.h — what `eqt generate`, `eqt serve` and `eqt bench generate` share:
// the flags that say where a trained model comes from, on which device it runs and how it
// refines at inference, over train/inference_model.h (the model and its prompt codec).
// What it is not: a tokenizer (data/tokenizer.h is).
#pragma once

#include "eqt/train/inference_model.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace eqt::cli {

// --tol, --max-steps, --min-steps, --solver-steps: the refinement at inference, over the
// checkpoint's config (REFERENCE 2's eval default is tol 1e-4, min 8, max 64).
struct RefinementArgs {
  models::RefineLimits limits;  // what the flags gave; unset: the checkpoint's
  void add(CLI::App* cmd);
};

struct InferenceArgs {
  std::string run, checkpoint, device = "cpu";
  std::string tokenizer;  // text runs: where the run's SentencePiece model is now (checked by hash)
  bool raw_weights = false;
  RefinementArgs refine;
  void add(CLI::App* cmd);
};

// The model and prompt codec (train/inference_model.h) with the flags' refinement limits.
struct InferenceModel : train::InferenceModel {
  models::RefineLimits limits;  // --tol, --max-steps, ...: passed to every forward
};

// Throws std::invalid_argument for bad flags or a missing file, std::runtime_error for a bad one.
InferenceModel load_inference_model(const InferenceArgs& a);
// train::parse_device with the flag's name in its errors ("--device 'tpu' is invalid; ...").
torch::Device parse_device(const std::string& name);

// Length of the longest prefix of s that does not end inside a UTF-8 sequence: stream that
// much and keep the rest for the next token, so multi-byte characters are never split.
size_t utf8_complete_prefix(const std::string& s);

}  // namespace eqt::cli
