// eqt/models/standard.cpp — the open-loop baseline: N pre-norm blocks.
#include "eqt/models/families.h"

namespace eqt::models {

StandardImpl::StandardImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  embed_ = register_module("embed", TokenIO(cfg));
  blocks_ = register_module("blocks", nn::BlockStack(cfg.block_options(), cfg.n_layers));
  init_weights();
}

ModelOutput StandardImpl::forward(const torch::Tensor& tokens) {
  check_tokens(tokens);
  ModelOutput out;
  out.logits = embed_->logits(blocks_(embed_->embed(tokens)));
  return out;
}

RefineStats stats_from(const solve::SolveResult& r) {
  RefineStats s;
  s.steps = r.steps.to(torch::kFloat64);
  s.residual = r.rel_res;
  s.status = r.status;
  s.residual_trace = r.rel_trace;
  return s;
}

}  // namespace eqt::models
