// eqt/models/attractor_reference.h — the Attractor paper's own PyTorch code (repository
// jacobfa/Attractor, attractor/models/attractor/) as a source of weights: its state-dict
// names and layout mapped onto eqt's attractor, where the two architectures agree.
//
// Both compute: c = prelude blocks (embedding); y* = Head(y* + c) - y* from y0 = c, the head
// a stack of pre-norm blocks whose two branches are gated by sigmoid(raw_gamma) * gamma_max;
// logits = ln_f(y*) times the tied embedding (docs/interop.md has the table of names).
// The layout change: the reference rotates interleaved (2j, 2j+1) pairs of each head for
// RoPE (complex multiplication), eqt the halves (j, j + hd/2) at the same frequencies, so
// the rows of the query and key projections are permuted within each head. Both ReLU2s are
// 0.5 relu(x)^2 (the reference's Relu2 in attractor/modules/basic.py multiplies by 0.5), so
// the MLP's projections are copied unchanged. The reference's padded embedding rows (ids
// the tokenizer never emits) are dropped. The config's max_seq is the reference's
// block_size (its default 4096 when absent): the positions the model was built for.
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

// The reference's AttractorConfig default for block_size (attractor/models/config.py).
constexpr int64_t kReferenceBlockSize = 4096;

struct ReferenceImport {
  ModelConfig config;                                          // an eqt attractor
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // eqt parameter names
  std::vector<std::string> notes;                              // what was skipped or differs slightly
};

// ref_config: the reference's model config as JSON (its field names: n_embd,
// num_attention_heads, intermediate_size, nonlin_name, norm_class_name, ...); state: its
// state dict; vocab: the ids the eqt task uses (<= the embedding's rows). `where` names the
// source in errors (std::invalid_argument, naming the field or tensor and what eqt accepts),
// `config_where` the config (a field of the wrong type is refused naming it and the key).
// The returned config is not yet validated: the caller validates it with the task's window.
ReferenceImport map_attractor_reference(const nlohmann::json& ref_config,
                                        const std::vector<std::pair<std::string, torch::Tensor>>& state,
                                        int64_t vocab, const std::string& where, const std::string& config_where);

}  // namespace eqt::models
