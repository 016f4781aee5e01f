// eqt/models/standard.cpp — the open-loop baseline: N pre-norm blocks.
#include "eqt/models/families.h"

namespace eqt::models {

StandardImpl::StandardImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  embed_ = register_module("embed", TokenIO(cfg));
  blocks_ = register_module("blocks", nn::BlockStack(cfg.block_options(), cfg.n_layers));
  init_weights();
}

ModelOutput StandardImpl::compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg) {
  ModelOutput out;
  auto x = embed_->embed(tokens, positions_of(cache, tokens));  // (B, T, C)
  out.logits = embed_->logits(run_layer(blocks_, x, cache, "blocks"));
  return out;
}

}  // namespace eqt::models
