// eqt/models/attractor_reference.h — the Attractor paper's own PyTorch code (repository
// jacobfa/Attractor, attractor/models/attractor/) as a source of weights: its state-dict
// names and layout mapped onto eqt's attractor, where the two architectures agree.
//
// Both compute: c = prelude blocks (embedding); y* = Head(y* + c) - y* from y0 = c, the head
// a stack of pre-norm blocks whose two branches are gated by sigmoid(raw_gamma) * gamma_max;
// logits = ln_f(y*) times the tied embedding (docs/interop.md has the table of names).
// The layout change: the reference rotates interleaved (2j, 2j+1) pairs of each head for
// RoPE (complex multiplication), eqt the halves (j, j + hd/2) at the same frequencies, so
// the rows of the query and key projections are permuted within each head; the reference's
// ReLU2 has no 1/2, eqt's relu2 has, so its down projection is doubled. The reference's
// padded embedding rows (ids the tokenizer never emits) are dropped.
// Refused, by name: anything eqt computes differently (GQA, a gated MLP, biases, QK bias or
// clipping, a logit soft-cap or scale, an embedding scale, untied embeddings, heads without
// LayerScale gates, condensed RoPE, value embeddings, bidirectional attention) and any tensor
// not in the table. Skipped with a note: the coda blocks (the reference builds them but its
// forward never applies them) and the freqs_cis buffer (eqt computes RoPE itself).
// What it is not: a reader of PyTorch pickles (save the state dict as safetensors), or a
// mapping for the reference's other models (GPT, Parcae).
#pragma once

#include "eqt/models/model_config.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace eqt::models {

struct ReferenceImport {
  ModelConfig config;                                          // an eqt attractor
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // eqt parameter names
  std::vector<std::string> notes;                              // what was skipped or differs slightly
};

// ref_config: the reference's model config as JSON (its field names: n_embd,
// num_attention_heads, intermediate_size, nonlin_name, norm_class_name, ...); state: its
// state dict; vocab: the ids the eqt task uses (<= the embedding's rows). `where` names the
// source in errors (std::invalid_argument, naming the field or tensor and what eqt accepts).
ReferenceImport map_attractor_reference(const nlohmann::json& ref_config,
                                        const std::vector<std::pair<std::string, torch::Tensor>>& state,
                                        int64_t vocab, const std::string& where);

}  // namespace eqt::models
