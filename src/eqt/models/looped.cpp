// eqt/models/looped.cpp — prelude / weight-tied recurrent core / coda (Huginn, Ouro, Parcae).
// The prelude output e is re-injected at every core iteration, by concatenation and a
// linear adapter, s <- core(A [s; e]), or by addition, s <- core(s + e). The state starts
// at zero or at noise. In training only the last `backprop_last` iterations are recorded,
// and K may be sampled per step as K = 1 + Poisson(loops - 1).
#include "eqt/models/families.h"

#include "eqt/util/per_sample.h"

namespace eqt::models {

LoopedImpl::LoopedImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  auto bo = cfg.block_options();
  embed_ = register_module("embed", TokenIO(cfg));
  prelude_ = register_module("prelude", nn::BlockStack(bo, cfg.prelude));
  if (cfg.inject == "concat")
    adapter_ = register_module("adapter",
                               torch::nn::Linear(torch::nn::LinearOptions(2 * cfg.d_model, cfg.d_model).bias(false)));
  core_ = register_module("core", nn::BlockStack(bo, cfg.core));
  coda_ = register_module("coda", nn::BlockStack(bo, cfg.coda));
  init_weights();
}

torch::Tensor LoopedImpl::step(const torch::Tensor& s, const torch::Tensor& e, DecodeCache* cache, int64_t i) {
  auto x = cfg_.inject == "concat" ? adapter_(torch::cat({s, e}, -1)) : s + e;
  return run_layer(core_, x, cache, "core." + std::to_string(i));
}

ModelOutput LoopedImpl::compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg) {
  // Incremental decoding keeps one cache per core iteration: iteration i of a new position
  // attends to iteration i of the earlier ones, exactly as in the whole-sequence loop.
  // With state_init = noise the new positions draw fresh noise (the whole-sequence pass
  // redraws every position's), so only zero-initialised models decode reproducibly.
  auto e = run_layer(prelude_, embed_->embed(tokens, positions_of(cache, tokens)), cache, "prelude");  // (B, T, C)
  int64_t K = cfg.loops;
  if (is_training() && cfg.sample_loops && K > 1)
    K = 1 + torch::poisson(torch::full({1}, double(K - 1))).item<int64_t>();
  const int64_t recorded = is_training() ? std::min(cfg.backprop_last, K) : K;
  torch::Tensor s = cfg.state_init == "noise" ? torch::randn_like(e) * cfg.init_noise_std : torch::zeros_like(e);
  torch::Tensor prev;  // (B, T, C) state before the last iteration
  for (int64_t i = 0; i < K; ++i) {
    prev = s;
    if (i < K - recorded) {
      torch::NoGradGuard ng;
      s = step(s, e.detach(), cache, i);
    } else {
      s = step(s, e, cache, i);
    }
  }
  ModelOutput out;
  out.logits = embed_->logits(run_layer(coda_, s, cache, "coda"));
  torch::NoGradGuard ng;
  out.stats.steps = torch::full({s.size(0)}, double(K), torch::kFloat64);
  out.stats.residual = (util::sample_norm(s - prev) / util::sample_norm(s).clamp_min(1e-12)).to(torch::kFloat64);
  return out;
}

}  // namespace eqt::models
