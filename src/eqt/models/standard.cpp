// eqt/models/standard.cpp — the open-loop baseline: N pre-norm blocks.
#include "eqt/models/families.h"

namespace eqt::models {

StandardImpl::StandardImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  embed_ = register_module("embed", TokenIO(cfg));
  blocks_ = register_module("blocks", nn::BlockStack(cfg.block_options(), cfg.n_layers));
  init_weights();
}

ModelOutput StandardImpl::compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                                const StartState& start) {
  check_start(start, "standard", /*can_start=*/false, /*can_noise=*/false);
  ModelOutput out;
  auto x = embed_->embed(tokens, positions_of(cache, tokens));  // (B, T, C)
  out.logits = embed_->logits(run_layer(blocks_, x, cache, "blocks"));
  return out;
}

Family standard_family() {
  return {"standard", "embed -> N blocks -> logits",
          /*has_loop=*/false, /*has_solver=*/false, /*has_energy=*/false, /*has_state=*/false, /*can_decode=*/true,
          /*preset=*/"{}",
          /*cap_refinement=*/[](ModelConfig&, int64_t) {},  // nothing to cap
          /*blocks=*/[](const ModelConfig& c) { return c.n_layers; },
          /*upgrade_saved=*/nullptr,
          /*make=*/[](const ModelConfig& c) -> std::shared_ptr<ModelImpl> { return std::make_shared<StandardImpl>(c); }};
}

}  // namespace eqt::models
