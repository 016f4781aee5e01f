// eqt/models/model_config.h — one JSON-serialisable config for every family, in sections.
// Each field is declared once in its section's visit() with its JSON name and help; defaults are
// the papers' values (REFERENCE 2, 3, 5) where they name one, else docs/models.md says why.
#pragma once

#include "eqt/config/fields.h"
#include "eqt/grad/equilibrium.h"
#include "eqt/nn/block.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace eqt::models {

// Each section below is one JSON object of the config file, named like it (cfg.solver.method
// is "solver": {"method": ...}); visit() lists its fields once with their help text
// (config/fields.h). Which sections a family reads is in its row (family.h) and its class.

// Blocks, shared by every family (nn/block.h).
struct BlockConfig {
  int64_t d_model = 64;
  int64_t n_heads = 4;
  std::string mlp = "relu2";
  double mlp_mult = 4.0;
  std::string norm = "rms";
  std::string positions = "rope";  // rope | sinusoidal
  double rope_base = 10000.0;
  bool qk_norm = true;
  bool causal = true;
  double init_std = 0.02;

  template <class V>
  void visit(V& v) {
    v("d_model", d_model, "width of the residual stream");
    v("n_heads", n_heads, "attention heads");
    v("mlp", mlp, "feed-forward kind: relu2 | swiglu | gelu");
    v("mlp_mult", mlp_mult, "feed-forward hidden width / d_model");
    v("norm", norm, "norm kind: rms | layer");
    v("positions", positions, "positions: rope | sinusoidal (added to embeddings)");
    v("rope_base", rope_base, "RoPE frequency base");
    v("qk_norm", qk_norm, "parameter-free RMS normalisation of queries and keys");
    v("causal", causal, "causal attention (language modelling) or bidirectional");
    v("init_std", init_std, "std of the normal initialisation of weights");
  }
};

// The looped family (Huginn style): prelude, weight-tied core iterated K times, coda.
struct LoopedConfig {
  int64_t prelude = 1, core = 1, coda = 1;
  int64_t loops = 4;          // recurrence K (the mean when sampled)
  bool sample_loops = false;  // training: K ~ 1 + Poisson(loops - 1) per step
  int64_t backprop_last = 4;  // training: backprop through the last k iterations only
  std::string inject = "concat";  // concat (+ linear adapter) | add
  std::string state_init = "zero";  // zero | noise
  double init_noise_std = 1.0;

  template <class V>
  void visit(V& v) {
    v("prelude", prelude, "prelude blocks");
    v("core", core, "blocks in the weight-tied recurrent core");
    v("coda", coda, "coda blocks");
    v("loops", loops, "core iterations K (mean when sampled)");
    v("sample_loops", sample_loops, "training: K ~ 1 + Poisson(loops - 1) per step");
    v("backprop_last", backprop_last, "training: backprop through the last k iterations");
    v("inject", inject, "input injection: concat (+ linear adapter) | add");
    v("state_init", state_init, "initial state: zero | noise");
    v("init_noise_std", init_noise_std, "std of the noise initial state");
  }
};

// The DEQ family: a core of blocks solved for its fixed point.
struct DEQConfig {
  int64_t layers = 2;
  double jac_reg = 0.0;  // weight of the Hutchinson ||J||_F^2 / D regulariser (training)

  template <class V>
  void visit(V& v) {
    v("layers", layers, "blocks in the DEQ core f");
    v("jac_reg", jac_reg, "weight of the Jacobian regulariser (0: off)");
  }
};

// The attractor family's gated fixed-point head (its backbone has n_layers blocks).
struct AttractorConfig {
  int64_t head_layers = 1;
  double gamma_max = 0.75;
  double jac_reg = 0.0;  // weight of the Jacobian regulariser on the head's map (training)

  template <class V>
  void visit(V& v) {
    v("head_layers", head_layers, "gated blocks in the fixed-point head");
    v("gamma_max", gamma_max, "gate ceiling: g = sigmoid(raw) * gamma_max");
    v("jac_reg", jac_reg, "weight of the Jacobian regulariser on the head's map (0: off)");
  }
};

// The fixed-point solve (deq, attractor): train_* while training, eval_* otherwise.
struct SolverConfig {
  std::string method = "anderson";
  std::string stop_mode = "rel";
  double train_tol = 3e-4;
  int64_t train_max_iter = 64, train_min_iter = 6;
  double eval_tol = 1e-4;
  int64_t eval_max_iter = 64, eval_min_iter = 8;  // eval_max_iter 0: no solve (internalised)
  int64_t window = 5;
  int64_t memory = 32;    // Broyden's low-rank memory
  double diverge = 1e4;   // a sample diverges past this relative residual or iterate growth
  double beta = 1.0, ridge = 1e-4;
  bool ridge_relative = true;
  double damping = 1.0;
  bool freeze = false;
  int64_t check_every = 1;  // host-side "all stopped?" test every k evaluations (GPU syncs)
  double compact = 0.125;   // with freeze: f on unstopped rows only once this fraction stopped
  double low_precision_tol = 2e-3;  // least tolerance while f runs under bf16 autocast

  template <class V>
  void visit(V& v) {
    v("method", method, "picard | anderson | broyden");
    v("stop_mode", stop_mode, "abs | rel residual");
    v("train_tol", train_tol, "residual tolerance while training");
    v("train_max_iter", train_max_iter, "iteration cap while training");
    v("train_min_iter", train_min_iter, "minimum iterations while training");
    v("eval_tol", eval_tol, "residual tolerance at inference");
    v("eval_max_iter", eval_max_iter, "iteration cap at inference (0: decode the proposal)");
    v("eval_min_iter", eval_min_iter, "minimum iterations at inference");
    v("window", window, "Anderson window m");
    v("memory", memory, "Broyden memory: rank-one updates kept");
    v("diverge", diverge, "a sample diverges when its relative residual, or its iterate's growth over its start, exceeds this");
    v("beta", beta, "Anderson mixing");
    v("ridge", ridge, "Anderson ridge lambda");
    v("ridge_relative", ridge_relative, "scale the ridge by mean diag(G G^T)");
    v("damping", damping, "Picard damping tau");
    v("freeze", freeze, "stop updating converged samples");
    v("check_every", check_every, "test on the host whether every sample stopped only every k-th iteration");
    v("compact", compact, "with freeze: evaluate f on the unstopped rows only once this fraction of them stopped (0: never)");
    v("low_precision_tol", low_precision_tol, "least tolerance while the map runs under bf16 autocast (its rounding leaves a residual floor near 1e-3; 0: none)");
  }
  // low_precision: f runs under bf16 autocast (util::low_precision_active), so the tolerance
  // is at least low_precision_tol: bf16 rounding leaves a relative residual floor near 1e-3
  // that a tighter tolerance can never meet (the solve would run to its cap every time;
  // measured in docs/results.md, "c, in bf16").
  solve::SolverOptions options(bool training, bool low_precision = false) const;
};

// The gradient through an equilibrium (deq, attractor; grad/equilibrium.h).
struct GradConfig {
  std::string mode = "onestep";  // unrolled | truncated | phantom | onestep | ift
  int64_t k = 1;
  double tau = 1.0, clip = 0.0;
  double backward_tol = 1e-6;
  int64_t backward_max_iter = 64;

  template <class V>
  void visit(V& v) {
    v("mode", mode, "unrolled | truncated | phantom | onestep | ift");
    v("k", k, "recorded steps (truncated, phantom)");
    v("tau", tau, "damping of recorded steps (truncated, phantom, unrolled)");
    v("clip", clip, "onestep: ||J^T v|| <= clip ||v|| (0: off)");
    v("backward_tol", backward_tol, "ift: tolerance of the backward solve");
    v("backward_max_iter", backward_max_iter, "ift: iteration cap of the backward solve");
  }
  // check_every: the solver section's host-check interval, shared by the backward solve.
  grad::GradOptions options(int64_t check_every) const;
};

// EqT refinement (REFERENCE 3): per block, K gradient steps on a learned energy.
struct EqTConfig {
  int64_t steps = 16, eval_steps = 16;  // K
  double alpha = 0.1, gamma = 1.0;
  double lambda_rev = 1.0, lambda_mask = 0.5, lambda_conf = 0.2, lambda_mem = 0.1;
  bool memory = false;    // the episodic memory term (energy.h), off by default as in the paper
  int64_t mem_slots = 64;  // memory bank size M
  double mem_tau = 0.1;    // its temperature: -log sum_i r_i exp(cos(h, z_i) / tau)
  double mem_momentum = 0.99;  // moving-average rate of the bank's update while training
  int64_t rev_window = 16;
  std::string reverse = "attention";  // attention | block (energy.h)
  double mask_ratio = 0.15;
  double beta = 0.3;      // loss = CE + beta * E(h*)
  double halt_eps = 0.0;  // stop a sample when ||dh|| / ||h|| < eps (0: run all K)
  double halt_energy = 0.0;  // stop a sample when its mean energy per position < this (0: never)
  // More steps for uncertain tokens: token t refines for max(entropy_min_steps,
  // ceil(K H_t / ln V)) of the K steps, H_t the entropy of the LM head's prediction from f_t.
  bool entropy_steps = false;
  int64_t entropy_min_steps = 1;
  std::string grad = "unrolled";  // unrolled (second order) | implicit (CG)
  int64_t cg_iters = 20;
  double cg_tol = 1e-6;

  template <class V>
  void visit(V& v) {
    v("steps", steps, "refinement steps K while training");
    v("eval_steps", eval_steps, "refinement steps K at inference (0: no refinement)");
    v("alpha", alpha, "gradient step size");
    v("gamma", gamma, "proximal weight: the (h - f) / gamma term");
    v("lambda_rev", lambda_rev, "weight of the reverse-prediction energy");
    v("lambda_mask", lambda_mask, "weight of the masked-prediction energy");
    v("lambda_conf", lambda_conf, "weight of the confidence energy");
    v("lambda_mem", lambda_mem, "weight of the memory energy (when enabled)");
    v("memory", memory, "enable the episodic memory energy -log sum_i r_i exp(cos(h, z_i) / mem_tau)");
    v("mem_slots", mem_slots, "memory bank slots M");
    v("mem_tau", mem_tau, "memory energy temperature");
    v("mem_momentum", mem_momentum, "moving-average rate of the bank's update while training (0: replace)");
    v("rev_window", rev_window, "previous tokens W the reverse predictor predicts");
    v("reverse", reverse, "reverse predictor: attention (h_t queries the past tokens) | block (a W-token block per position, slow)");
    v("mask_ratio", mask_ratio, "fraction of positions in the masked-prediction energy");
    v("beta", beta, "loss = CE + beta * E(h*)");
    v("halt_eps", halt_eps, "stop a sample when ||dh|| / ||h|| < eps (0: never)");
    v("halt_energy", halt_energy, "stop a sample when its mean energy per position < this (0: never)");
    v("entropy_steps", entropy_steps, "token t refines max(entropy_min_steps, ceil(K H_t / ln V)) steps, H_t its predictive entropy");
    v("entropy_min_steps", entropy_min_steps, "with entropy_steps: the fewest steps a token refines");
    v("grad", grad, "unrolled (second-order backprop) | implicit (CG on Hessian)");
    v("cg_iters", cg_iters, "implicit: conjugate-gradient iterations");
    v("cg_tol", cg_tol, "implicit: conjugate-gradient tolerance");
  }
};

// The recursive reasoner (trm, issue 28): latents z_H, z_L refined by one shared net of
// post-norm blocks (models/trm.cpp; its fixed-point variant reads solver.* and grad.*).
struct TRMConfig {
  int64_t layers = 2;              // post-norm blocks in the shared net
  int64_t h_cycles = 3;            // T: outer cycles, the first T - 1 without a gradient
  int64_t l_cycles = 6;            // n: z_L updates per cycle (inner = unrolled)
  std::string mixer = "attention";  // attention | mlp (across positions; one sequence length)
  std::string inner = "unrolled";   // unrolled | solve (z_L's fixed point per cycle)
  double jac_reg = 0.0;            // solve: weight of the Jacobian penalty on the inner map

  template <class V>
  void visit(V& v) {
    v("layers", layers, "post-norm blocks in the shared net");
    v("h_cycles", h_cycles, "outer cycles T (the first T - 1 without a gradient)");
    v("l_cycles", l_cycles, "z_L updates per cycle n (inner = unrolled)");
    v("mixer", mixer, "token mixing: attention | mlp (an MLP across positions: one sequence length, max_seq)");
    v("inner", inner, "the inner loop: unrolled (n updates) | solve (z_L's fixed point with solver.* and grad.*)");
    v("jac_reg", jac_reg, "solve: weight of the Jacobian penalty on the inner map while training (0: off)");
  }
};

// The halting head (issue 28): q_halt = w . mean_t(state) + b from the family's final loop
// state (w = 0, b = -5 at initialisation, TRM), trained against "the whole answer is right"
// when training with deep supervision (train.supervision).
struct HaltConfig {
  bool head = false;

  template <class V>
  void visit(V& v) {
    v("head", head, "a halting head q_halt on the loop state (looped, deq, attractor, trm)");
  }
};

struct ModelConfig {
  std::string family = "standard";  // a name in family_table() (family.h)
  int64_t vocab = 256;
  int64_t max_seq = 1024;
  // Blocks in the family's main stack: standard's stack, attractor's backbone, eqt's refined
  // blocks (the other families size their stacks in their own sections).
  int64_t n_layers = 2;
  BlockConfig block;
  LoopedConfig looped;
  DEQConfig deq;
  AttractorConfig attractor;
  SolverConfig solver;
  GradConfig grad;
  EqTConfig eqt;
  TRMConfig trm;
  HaltConfig halt;

  template <class V>
  void visit(V& v) {
    v("family", family, "model family (family.h)");
    v("vocab", vocab, "vocabulary size");
    v("max_seq", max_seq, "longest sequence the model accepts");
    v("n_layers", n_layers, "blocks: standard stack, attractor backbone, eqt refined blocks");
    config::visit_section(v, "block", block);
    config::visit_section(v, "looped", looped);
    config::visit_section(v, "deq", deq);
    config::visit_section(v, "attractor", attractor);
    config::visit_section(v, "solver", solver);
    config::visit_section(v, "grad", grad);
    config::visit_section(v, "eqt", eqt);
    config::visit_section(v, "trm", trm);
    config::visit_section(v, "halt", halt);
  }

  // Throws std::invalid_argument naming the bad field, its value and what is accepted.
  void validate() const;
  // The same model with its refinement capped at n steps at inference: solver iterations
  // (deq, attractor; 0 decodes the proposal), refinement steps (eqt; 0 skips refinement),
  // core iterations (looped, at least 1). Standard models have nothing to cap.
  ModelConfig with_refinement_cap(int64_t n) const;
  nlohmann::json to_json() const;
  // Applies j over base (defaults); unknown keys and bad values throw, naming them.
  static ModelConfig from_json(const nlohmann::json& j, const ModelConfig& base);
  static ModelConfig from_json(const nlohmann::json& j);  // over the defaults
  static ModelConfig preset(const std::string& family);   // defaults for a family
  // A config saved in a checkpoint: from_json, after giving the fields that older files lack
  // the value those files were written with (eqt.reverse: block), so old runs keep loading.
  static ModelConfig from_saved_json(nlohmann::json j);

  nn::BlockOptions block_options() const;
  solve::SolverOptions solver_options(bool training, bool low_precision = false) const {
    return solver.options(training, low_precision);
  }
  grad::GradOptions grad_options() const { return grad.options(solver.check_every); }
};

// The refinement at inference, chosen per call (eval / generate / serve --tol, --max-steps,
// --min-steps, --solver-steps): unset fields keep the config's eval_* values. forward()
// applies them to a copy of the model's config for that one call, so a model shared by
// callers with different limits (a server, an internalisation sweep) never changes state.
struct RefineLimits {
  std::optional<double> tol;           // eval_tol and eqt.halt_eps
  std::optional<int64_t> max_steps;    // with_refinement_cap
  std::optional<int64_t> min_steps;    // eval_min_iter (deq, attractor)
  std::optional<int64_t> exact_steps;  // exactly this many: cap, min and no tolerance
  bool empty() const { return !tol && !max_steps && !min_steps && !exact_steps; }
  bool operator==(const RefineLimits& o) const {
    return tol == o.tol && max_steps == o.max_steps && min_steps == o.min_steps && exact_steps == o.exact_steps;
  }
  // These limits over `base` (a server's, a run's): a limit given here replaces base's; an
  // exact step count here replaces all of base's, and any limit here replaces base's exact
  // count (the two cannot be combined).
  RefineLimits over(const RefineLimits& base) const;
  // std::invalid_argument naming the bad or conflicting limit.
  void validate() const;
  ModelConfig applied_to(const ModelConfig& cfg) const;
};

}  // namespace eqt::models
