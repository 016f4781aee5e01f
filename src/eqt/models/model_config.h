// eqt/models/model_config.h — one JSON-serialisable config for every family.
// Each field is declared once in visit() with its dotted JSON name and help; defaults are
// the papers' values (REFERENCE 2, 3, 5) where they name one, else docs/models.md says why.
#pragma once

#include "eqt/grad/equilibrium.h"
#include "eqt/nn/block.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace eqt::models {

struct ModelConfig {
  std::string family = "standard";  // a name in family_table() (family.h)
  int64_t vocab = 256;
  int64_t max_seq = 1024;
  // Blocks, shared by every family.
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
  int64_t n_layers = 2;  // standard: blocks; attractor: backbone; eqt: refined blocks
  // Looped (Huginn style).
  int64_t prelude = 1, core = 1, coda = 1;
  int64_t loops = 4;          // recurrence K (the mean when sampled)
  bool sample_loops = false;  // training: K ~ 1 + Poisson(loops - 1) per step
  int64_t backprop_last = 4;  // training: backprop through the last k iterations only
  std::string inject = "concat";  // concat (+ linear adapter) | add
  std::string state_init = "zero";  // zero | noise
  double init_noise_std = 1.0;
  // DEQ.
  int64_t deq_layers = 2;
  double jac_reg = 0.0;  // weight of the Hutchinson ||J||_F^2 / D regulariser (training)
  // Attractor head.
  int64_t head_layers = 1;
  double gamma_max = 0.75;
  double head_jac_reg = 0.0;  // weight of the Jacobian regulariser on the head's map (training)
  // Fixed-point solver (deq, attractor); train_* while training, eval_* otherwise.
  std::string solver = "anderson";
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
  // Gradient through the equilibrium (deq, attractor).
  std::string grad = "onestep";  // unrolled | truncated | phantom | onestep | ift
  int64_t grad_k = 1;
  double grad_tau = 1.0, grad_clip = 0.0;
  double backward_tol = 1e-6;
  int64_t backward_max_iter = 64;
  // EqT refinement (REFERENCE 3).
  int64_t eqt_steps = 16, eqt_eval_steps = 16;  // K
  double eqt_alpha = 0.1, eqt_gamma = 1.0;
  double eqt_lambda_rev = 1.0, eqt_lambda_mask = 0.5, eqt_lambda_conf = 0.2, eqt_lambda_mem = 0.1;
  bool eqt_memory = false;  // the memory term is optional and not implemented yet
  int64_t eqt_rev_window = 16;
  std::string eqt_reverse = "attention";  // attention | block (energy.h)
  double eqt_mask_ratio = 0.15;
  double eqt_beta = 0.3;      // loss = CE + beta * E(h*)
  double eqt_halt_eps = 0.0;  // stop a sample when ||dh|| / ||h|| < eps (0: run all K)
  std::string eqt_grad = "unrolled";  // unrolled (second order) | implicit (CG)
  int64_t eqt_cg_iters = 20;
  double eqt_cg_tol = 1e-6;

  template <class V>
  void visit(V& v) {
    v("family", family, "model family (family.h)");
    v("vocab", vocab, "vocabulary size");
    v("max_seq", max_seq, "longest sequence the model accepts");
    v("block.d_model", d_model, "width of the residual stream");
    v("block.n_heads", n_heads, "attention heads");
    v("block.mlp", mlp, "feed-forward kind: relu2 | swiglu | gelu");
    v("block.mlp_mult", mlp_mult, "feed-forward hidden width / d_model");
    v("block.norm", norm, "norm kind: rms | layer");
    v("block.positions", positions, "positions: rope | sinusoidal (added to embeddings)");
    v("block.rope_base", rope_base, "RoPE frequency base");
    v("block.qk_norm", qk_norm, "parameter-free RMS normalisation of queries and keys");
    v("block.causal", causal, "causal attention (language modelling) or bidirectional");
    v("block.init_std", init_std, "std of the normal initialisation of weights");
    v("n_layers", n_layers, "blocks: standard stack, attractor backbone, eqt refined blocks");
    v("looped.prelude", prelude, "prelude blocks");
    v("looped.core", core, "blocks in the weight-tied recurrent core");
    v("looped.coda", coda, "coda blocks");
    v("looped.loops", loops, "core iterations K (mean when sampled)");
    v("looped.sample_loops", sample_loops, "training: K ~ 1 + Poisson(loops - 1) per step");
    v("looped.backprop_last", backprop_last, "training: backprop through the last k iterations");
    v("looped.inject", inject, "input injection: concat (+ linear adapter) | add");
    v("looped.state_init", state_init, "initial state: zero | noise");
    v("looped.init_noise_std", init_noise_std, "std of the noise initial state");
    v("deq.layers", deq_layers, "blocks in the DEQ core f");
    v("deq.jac_reg", jac_reg, "weight of the Jacobian regulariser (0: off)");
    v("attractor.head_layers", head_layers, "gated blocks in the fixed-point head");
    v("attractor.gamma_max", gamma_max, "gate ceiling: g = sigmoid(raw) * gamma_max");
    v("attractor.jac_reg", head_jac_reg, "weight of the Jacobian regulariser on the head's map (0: off)");
    v("solver.method", solver, "picard | anderson | broyden");
    v("solver.stop_mode", stop_mode, "abs | rel residual");
    v("solver.train_tol", train_tol, "residual tolerance while training");
    v("solver.train_max_iter", train_max_iter, "iteration cap while training");
    v("solver.train_min_iter", train_min_iter, "minimum iterations while training");
    v("solver.eval_tol", eval_tol, "residual tolerance at inference");
    v("solver.eval_max_iter", eval_max_iter, "iteration cap at inference (0: decode the proposal)");
    v("solver.eval_min_iter", eval_min_iter, "minimum iterations at inference");
    v("solver.window", window, "Anderson window m");
    v("solver.memory", memory, "Broyden memory: rank-one updates kept");
    v("solver.diverge", diverge, "a sample diverges when its relative residual, or its iterate's growth over its start, exceeds this");
    v("solver.beta", beta, "Anderson mixing");
    v("solver.ridge", ridge, "Anderson ridge lambda");
    v("solver.ridge_relative", ridge_relative, "scale the ridge by mean diag(G G^T)");
    v("solver.damping", damping, "Picard damping tau");
    v("solver.freeze", freeze, "stop updating converged samples");
    v("solver.check_every", check_every, "test on the host whether every sample stopped only every k-th iteration");
    v("solver.compact", compact, "with freeze: evaluate f on the unstopped rows only once this fraction of them stopped (0: never)");
    v("solver.low_precision_tol", low_precision_tol, "least tolerance while the map runs under bf16 autocast (its rounding leaves a residual floor near 1e-3; 0: none)");
    v("grad.mode", grad, "unrolled | truncated | phantom | onestep | ift");
    v("grad.k", grad_k, "recorded steps (truncated, phantom)");
    v("grad.tau", grad_tau, "damping of recorded steps (truncated, phantom, unrolled)");
    v("grad.clip", grad_clip, "onestep: ||J^T v|| <= clip ||v|| (0: off)");
    v("grad.backward_tol", backward_tol, "ift: tolerance of the backward solve");
    v("grad.backward_max_iter", backward_max_iter, "ift: iteration cap of the backward solve");
    v("eqt.steps", eqt_steps, "refinement steps K while training");
    v("eqt.eval_steps", eqt_eval_steps, "refinement steps K at inference (0: no refinement)");
    v("eqt.alpha", eqt_alpha, "gradient step size");
    v("eqt.gamma", eqt_gamma, "proximal weight: the (h - f) / gamma term");
    v("eqt.lambda_rev", eqt_lambda_rev, "weight of the reverse-prediction energy");
    v("eqt.lambda_mask", eqt_lambda_mask, "weight of the masked-prediction energy");
    v("eqt.lambda_conf", eqt_lambda_conf, "weight of the confidence energy");
    v("eqt.lambda_mem", eqt_lambda_mem, "weight of the memory energy (when enabled)");
    v("eqt.memory", eqt_memory, "enable the memory energy (not implemented yet)");
    v("eqt.rev_window", eqt_rev_window, "previous tokens W the reverse predictor predicts");
    v("eqt.reverse", eqt_reverse, "reverse predictor: attention (h_t queries the past tokens) | block (a W-token block per position, slow)");
    v("eqt.mask_ratio", eqt_mask_ratio, "fraction of positions in the masked-prediction energy");
    v("eqt.beta", eqt_beta, "loss = CE + beta * E(h*)");
    v("eqt.halt_eps", eqt_halt_eps, "stop a sample when ||dh|| / ||h|| < eps (0: never)");
    v("eqt.grad", eqt_grad, "unrolled (second-order backprop) | implicit (CG on Hessian)");
    v("eqt.cg_iters", eqt_cg_iters, "implicit: conjugate-gradient iterations");
    v("eqt.cg_tol", eqt_cg_tol, "implicit: conjugate-gradient tolerance");
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
  // low_precision: f runs under bf16 autocast (util::low_precision_active), so the tolerance
  // is at least low_precision_tol: bf16 rounding leaves a relative residual floor near 1e-3
  // that a tighter tolerance can never meet (the solve would run to its cap every time;
  // measured in docs/results.md, "c, in bf16").
  solve::SolverOptions solver_options(bool training, bool low_precision = false) const;
  grad::GradOptions grad_options() const;
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
  // std::invalid_argument naming the bad or conflicting limit.
  void validate() const;
  ModelConfig applied_to(const ModelConfig& cfg) const;
};

}  // namespace eqt::models
