// eqt/models/model.h — the one interface every family implements.
//
// forward(tokens, limits) -> logits plus a stats record. The refinement knobs live in the
// config() and are read at every forward, so solver, tolerances, iteration caps, gradient
// mode, K and step sizes can change at inference without retraining; per-call limits
// (RefineLimits: tol, caps, exact steps) apply to that call only and change no state.
// train() / eval() select the train_* or eval_* solver settings.
// forward_cached(tokens, cache) is incremental inference: the new positions only, against
// the cached prefix (decode_cache.h). A family writes one compute(tokens, cache, cfg) for both,
// so whole-sequence and incremental decoding cannot drift apart in anything but the cache.
// What it is not: a trainer; the loss is CE(logits) + aux_loss, computed by the caller.
#pragma once

#include "eqt/models/decode_cache.h"
#include "eqt/models/model_config.h"
#include "eqt/models/start_state.h"
#include "eqt/models/token_io.h"

#include <map>
#include <memory>

namespace eqt::models {

// Per-sample record of the closed loop (undefined tensors where a family has no loop).
struct RefineStats {
  torch::Tensor steps;     // (B,) float: solver steps (eqt: mean over layers; looped: K)
  torch::Tensor residual;  // (B,) float64 final relative residual (eqt: mean relative change)
  torch::Tensor status;    // (B,) int64 solve::Status of the solve (deq, attractor: one solve per forward)
  torch::Tensor energy;    // (B,) eqt: mean refinement objective per step, (S, B) trace in energy_trace
  torch::Tensor energy_trace;  // (S, B) eqt, first refined layer: E + prox at every step
  torch::Tensor residual_trace;  // (S, B) float64 deq, attractor: relative residual per solver evaluation
  // deq, attractor with onestep / ift gradients: filled in when backward runs (the backward
  // solve's vector-Jacobian products and worst relative residual); null otherwise.
  std::shared_ptr<grad::BackwardStats> backward;
  // deq, attractor: (B,) spectral radius of df/dz at z* by power iteration, on demand (it
  // costs ~20 vector-Jacobian products): the map contracts near z* when it is < 1.
  std::function<torch::Tensor()> jacobian_radius;
};

struct ModelOutput {
  torch::Tensor logits;    // (B, T, V)
  // (B, T, C) the loop's final state, the one a later call can start from (StartState::given):
  // looped s_K, deq z*, attractor y*; undefined for families without one (standard, eqt).
  torch::Tensor state;
  // (B, C) what the halting head reads (mean over positions of the answer state), and its
  // output: (B,) logit q_halt of "the whole answer is right" (undefined without halt.head).
  torch::Tensor halt_features;
  torch::Tensor q_halt;
  torch::Tensor aux_loss;  // scalar added to the loss while training (undefined: none)
  RefineStats stats;
};

// One call's inference options over the model's config: the refinement limits, where the
// loop starts (start_state.h), and a solver section replacing the config's for this call
// (eval --solver KEY=VALUE). Nothing here changes the model, so callers sharing one model
// (a server's rows, an internalisation sweep) cannot disturb each other.
struct ForwardOptions {
  RefineLimits limits;
  StartState start;
  std::optional<SolverConfig> solver;
  ForwardOptions() = default;
  ForwardOptions(RefineLimits l) : limits(std::move(l)) {}  // NOLINT: forward(tokens, limits)
};

class ModelImpl : public torch::nn::Module {
 public:
  explicit ModelImpl(ModelConfig cfg) : cfg_(std::move(cfg)) { cfg_.validate(); }
  // tokens: (B, T) int64 -> logits (B, T, V); stats per row of the batch. opts: this call's
  // refinement limits, start state and solver, over the config's.
  ModelOutput forward(const torch::Tensor& tokens, const ForwardOptions& opts = {});
  // tokens: (B, Tn) int64 at positions cache.length ... -> logits (B, Tn, V), equal to
  // forward() of the whole sequence at those positions up to the solver tolerance; stats
  // per row for these Tn positions (Tn = 1: per token, so adaptive compute is per token).
  // Uses the eval settings (with limits over them) and builds no graph; extends cache.
  ModelOutput forward_cached(const torch::Tensor& tokens, DecodeCache& cache, const RefineLimits& limits = {});
  // Continuous batching: row b of tokens (B, Tn) continues the single-row cache rows[b],
  // each at its own length, all computed as one batch (DecodeCache::batch_of) -> logits
  // (B, Tn, V) and stats per row, equal to forward_cached of each row alone up to float
  // rounding. The solver freezes converged rows (solver.freeze) and EqT halts per row, so a
  // row's steps and state are the ones it would have alone. Extends every row's cache.
  ModelOutput forward_rows(const torch::Tensor& tokens, const std::vector<DecodeCache*>& rows,
                           const RefineLimits& limits = {});
  // Registers the halting head "halt" (Linear(C, 1), weight 0, bias -5: TRM's start, no
  // early halts before it learns); make_model calls it when the config asks for one.
  void add_halt_head();
  ModelConfig& config() { return cfg_; }
  const ModelConfig& config() const { return cfg_; }
  // Parameter count per top-level component (embed, blocks, head, core, energy, ...).
  std::map<std::string, int64_t> param_counts() const;
  int64_t param_total() const;

 protected:
  // The family's computation: cache null for the whole sequence, else the new positions.
  // cfg: this call's config (cfg_, or cfg_ with the call's options applied); families read
  // their refinement knobs (caps, tolerances, K, loops) from it, not from cfg_. start: where
  // the loop starts (always the family's own for cached decoding); a family refuses what it
  // cannot do with check_start.
  virtual ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                              const StartState& start) = 0;
  void check_tokens(const torch::Tensor& tokens, int64_t pos0) const;
  void init_weights();  // normal(0, init_std) for matrices, the modules' own for the rest
  ModelConfig cfg_;
  torch::nn::Linear halt_{nullptr};
};

std::shared_ptr<ModelImpl> make_model(const ModelConfig& cfg);

}  // namespace eqt::models
