// eqt/train/inference_model.h — a trained model opened for inference: the checkpoint's
// model (EMA weights when the run kept them) in eval mode on a device, the task it was
// trained on, and the prompt codec that task implies (the run's tokenizer for text models:
// bytes or its SentencePiece model; whitespace-separated token ids for the others).
// What `eqt generate`, `eqt serve` and the Python module's eqt.load share.
// What it is not: command-line flags (cli/inference_model.h) or a tokenizer (data/tokenizer.h).
#pragma once

#include "eqt/data/tokenizer.h"
#include "eqt/models/model.h"

#include <memory>
#include <string>
#include <vector>

namespace eqt::train {

struct InferenceSource {
  TORCH_ARG(std::string, run);         // a run folder (its checkpoint.eqt), or
  TORCH_ARG(std::string, checkpoint);  // a checkpoint file: exactly one of the two
  TORCH_ARG(std::string, device) = "cpu";
  TORCH_ARG(bool, ema) = true;         // the EMA weights when the run kept them
  // text runs with a SentencePiece tokenizer: where its model file is now (checked by hash)
  TORCH_ARG(std::string, tokenizer);
};

struct InferenceModel {
  std::shared_ptr<models::ModelImpl> model;    // in eval mode, on the chosen device
  std::string source;                          // the checkpoint file
  std::string task;                            // the task it was trained on
  std::shared_ptr<data::Tokenizer> tokenizer;  // text runs: prompts are text; null: token ids

  // Prompt -> token ids (by the tokenizer, or whitespace-separated ids); errors name the bad word.
  std::vector<int64_t> encode(const std::string& prompt) const;
  // One token -> its text: the bytes it stands for, or "<id> ".
  std::string decode(int64_t token) const;
};

// std::invalid_argument for a bad device, a missing file or a source given twice / not at
// all; std::runtime_error for a bad file (checkpoint.h's validation).
InferenceModel open_inference_model(const InferenceSource& s);

// "cpu", "cuda" or "cuda:N", checked against the devices LibTorch sees.
torch::Device parse_device(const std::string& name);

}  // namespace eqt::train
