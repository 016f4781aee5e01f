// cli/inference_model.h — what `eqt generate`, `eqt serve` and `eqt bench generate` share:
// the flags that say where a trained model comes from, on which device it runs and how it
// refines at inference; and the prompt codec its task implies (the run's tokenizer for text
// models: bytes or its SentencePiece model; whitespace-separated token ids for the others).
// What it is not: a tokenizer (data/tokenizer.h is).
#pragma once

#include "eqt/data/tokenizer.h"
#include "eqt/models/model.h"

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

struct InferenceModel {
  std::shared_ptr<models::ModelImpl> model;  // in eval mode, on the chosen device
  std::string source;                        // the checkpoint file
  std::string task;                          // the task it was trained on
  std::shared_ptr<data::Tokenizer> tokenizer;  // text runs: prompts are text; null: token ids
  models::RefineLimits limits;               // --tol, --max-steps, ...: passed to every forward

  // Prompt -> token ids (by the tokenizer, or whitespace-separated ids); errors name the bad word.
  std::vector<int64_t> encode(const std::string& prompt) const;
  // One token -> its text: the bytes it stands for, or "<id> ".
  std::string decode(int64_t token) const;
};

// Throws std::invalid_argument for bad flags or a missing file, std::runtime_error for a bad one.
InferenceModel load_inference_model(const InferenceArgs& a);
torch::Device parse_device(const std::string& name);

// Length of the longest prefix of s that does not end inside a UTF-8 sequence: stream that
// much and keep the rest for the next token, so multi-byte characters are never split.
size_t utf8_complete_prefix(const std::string& s);

}  // namespace eqt::cli
