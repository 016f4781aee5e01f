// eqt/models/looped.cpp — prelude / weight-tied recurrent core / coda (Huginn, Ouro, Parcae).
// The prelude output e is re-injected at every core iteration, by concatenation and a
// linear adapter, s <- core(A [s; e]), or by addition, s <- core(s + e). The state starts
// at zero or at noise (looped.state_init), or where the call says (StartState: a given
// state, or scale * N(0, I) per row from its seed), and path noise adds path_noise * N(0, I)
// after every iteration. In training only the last `backprop_last` iterations are recorded,
// and K may be sampled per step as K = 1 + Poisson(loops - 1).
#include "eqt/models/families.h"

#include "eqt/util/per_sample.h"

namespace eqt::models {

LoopedImpl::LoopedImpl(const ModelConfig& cfg) : ModelImpl(cfg) {
  auto bo = cfg.block_options();
  embed_ = register_module("embed", TokenIO(cfg));
  prelude_ = register_module("prelude", nn::BlockStack(bo, cfg.looped.prelude));
  if (cfg.looped.inject == "concat")
    adapter_ = register_module("adapter",
                               torch::nn::Linear(torch::nn::LinearOptions(2 * cfg.block.d_model, cfg.block.d_model).bias(false)));
  core_ = register_module("core", nn::BlockStack(bo, cfg.looped.core));
  coda_ = register_module("coda", nn::BlockStack(bo, cfg.looped.coda));
  init_weights();
}

torch::Tensor LoopedImpl::step(const torch::Tensor& s, const torch::Tensor& e, DecodeCache* cache, int64_t i) {
  auto x = cfg_.looped.inject == "concat" ? adapter_(torch::cat({s, e}, -1)) : s + e;
  return run_layer(core_, x, cache, "core." + std::to_string(i));
}

ModelOutput LoopedImpl::compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                                const StartState& start) {
  // Incremental decoding keeps one cache per core iteration: iteration i of a new position
  // attends to iteration i of the earlier ones, exactly as in the whole-sequence loop.
  // With state_init = noise the new positions draw fresh noise (the whole-sequence pass
  // redraws every position's), so only zero-initialised models decode reproducibly.
  check_start(start, "looped", /*can_start=*/true, /*can_noise=*/true);
  auto e = run_layer(prelude_, embed_->embed(tokens, positions_of(cache, tokens)), cache, "prelude");  // (B, T, C)
  int64_t K = cfg.looped.loops;
  if (is_training() && cfg.looped.sample_loops && K > 1)
    K = 1 + torch::poisson(torch::full({1}, double(K - 1))).item<int64_t>();
  const int64_t recorded = is_training() ? std::min(cfg.looped.backprop_last, K) : K;
  RowNoise noise(start.seeds);
  // The family's own start: zeros, or with state_init = noise init_noise_std x N(0, I) —
  // drawn from the rows' own generators when the call seeds them (a restart's row 0 then
  // starts at a noise start of its own, reproducible from its seed, as the other restarts
  // are), else from the global generator. Not drawn when every row continues a given state.
  auto family_start = [&]() -> torch::Tensor {  // (B, T, C)
    const bool unused = start.policy == StartState::Policy::Given && !start.given_rows.defined();
    if (cfg.looped.state_init != "noise" || unused) return torch::zeros_like(e);
    if (start.policy == StartState::Policy::Random && !start.seeds.empty())
      return noise.draw(e) * cfg.looped.init_noise_std;
    return torch::randn_like(e) * cfg.looped.init_noise_std;
  };
  torch::Tensor s = start.policy != StartState::Policy::Family ? start_from(start, family_start(), &noise, "looped")
                                                               : family_start();  // (B, T, C)
  torch::Tensor prev;  // (B, T, C) state before the last iteration
  for (int64_t i = 0; i < K; ++i) {
    prev = s;
    if (i < K - recorded) {
      torch::NoGradGuard ng;
      s = step(s, e.detach(), cache, i);
    } else {
      s = step(s, e, cache, i);
    }
    if (start.path_noise > 0) s = s + start.path_noise * noise.draw(s);
  }
  ModelOutput out;
  out.logits = embed_->logits(run_layer(coda_, s, cache, "coda"));
  out.state = s;
  out.halt_features = s.mean(1);  // (B, C)
  torch::NoGradGuard ng;
  out.stats.steps = torch::full({s.size(0)}, double(K), torch::kFloat64);
  out.stats.residual = (util::sample_norm(s - prev) / util::sample_norm(s).clamp_min(1e-12)).to(torch::kFloat64);
  return out;
}

Family looped_family() {
  return {"looped", "prelude -> K x weight-tied core with input injection -> coda", /*has_loop=*/true,
          /*has_solver=*/false, /*has_energy=*/false, /*has_state=*/true, /*can_decode=*/true,
          /*preset=*/"{}",
          // A cap is the number of core iterations K; at least one (the coda reads the state).
          /*cap_refinement=*/[](ModelConfig& c, int64_t n) { c.looped.loops = std::max<int64_t>(n, 1); },
          /*blocks=*/[](const ModelConfig& c) { return c.looped.prelude + c.looped.core + c.looped.coda; },
          /*upgrade_saved=*/nullptr,
          /*make=*/[](const ModelConfig& c) -> std::shared_ptr<ModelImpl> { return std::make_shared<LoopedImpl>(c); }};
}

}  // namespace eqt::models
