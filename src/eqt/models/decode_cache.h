// eqt/models/decode_cache.h — what incremental decoding keeps between calls.
//
// Positions 0 .. length-1 have been processed: every attention layer's keys and values of
// those positions are stored under the name of its block stack ("blocks", "backbone",
// "head", "core.<iteration>", ...), one KVCache per block, so a new position attends to
// them without recomputing the prefix. For the closed-loop parts (attractor head, DEQ core,
// looped core iterations, EqT's refined blocks) the stored keys and values are those of
// the earlier positions' *final* states: the equilibrium, the last core iteration, the
// refined h. Causal attention makes this exact: an earlier position never depends on a
// later one, so its state in the whole-sequence computation is the one cached here.
// Rows at different lengths (continuous batching, infer/batch_decoder.h) decode together
// through a ragged view: batch_of() left-pads every row's cache to the longest, with
// `offset` the padding of each row (nn::KVCache explains the columns), and unbatch_into()
// hands each row its columns back. Left padding keeps the new tokens in one column for
// every row, so causal masks, EqT's token windows and the appended keys stay column-wise.
// What it is not: a batch scheduler (which rows decode together is the caller's choice).
#pragma once

#include "eqt/nn/block.h"

#include <map>
#include <string>
#include <vector>

namespace eqt::models {

struct DecodeCache {
  int64_t length = 0;    // positions already processed (columns, in a ragged view)
  torch::Tensor tokens;  // (B, length) int64 the tokens so far (EqT's energy reads a window)
  torch::Tensor offset;  // (B,) int64 a ragged view's left padding per row; undefined: none
  std::map<std::string, std::vector<nn::KVCache>> kv;  // per stack name: one cache per block

  // Read-only view of a stack's cache of positions 0 .. length-1 (empty before the first
  // call). Throws if it holds another number of positions (a stack skipped in one call).
  const std::vector<nn::KVCache>* past(const std::string& name);
  // Runs stack (block) on x (B, Tn, C) at positions length ..., attending to the cached keys
  // and values under name, and appends this call's keys and values to them.
  torch::Tensor extend(nn::BlockStack& stack, const std::string& name, const torch::Tensor& x);
  torch::Tensor extend(nn::Block& block, const std::string& name, const torch::Tensor& x);
  // Records tokens (B, Tn) as processed: called once per call, after every layer ran.
  void advance(const torch::Tensor& new_tokens);
  // All tokens including new_tokens (B, Tn), before advance: (B, length + Tn).
  torch::Tensor with(const torch::Tensor& new_tokens) const;
  // Absolute positions of the next T tokens: (T,) length ... when the rows agree, (B, T)
  // in a ragged view.
  torch::Tensor positions(int64_t T, torch::Device dev) const;

  // The ragged view of single-row caches (each B = 1, length >= 1, the same stacks).
  static DecodeCache batch_of(const std::vector<DecodeCache*>& rows);
  // Gives row b of this ragged view (its columns offset_b ...) back to rows[b].
  void unbatch_into(const std::vector<DecodeCache*>& rows) const;
};

// Absolute positions of a call's tokens (B, T): undefined (0 .. T-1) without a cache.
inline torch::Tensor positions_of(const DecodeCache* cache, const torch::Tensor& tokens) {
  return cache ? cache->positions(tokens.size(1), tokens.device()) : torch::Tensor();
}

// The one code path of whole-sequence and incremental computation: stack(x) without a
// cache, cache->extend(stack, name, x) with one.
template <class Layer>
torch::Tensor run_layer(Layer& layer, const torch::Tensor& x, DecodeCache* cache, const std::string& name) {
  return cache ? cache->extend(layer, name, x) : layer->forward(x);
}

}  // namespace eqt::models
