// eqt/models/model_config.cpp — validation and conversions of ModelConfig.
#include "eqt/models/model_config.h"

#include "eqt/config/fields.h"
#include "eqt/models/family.h"

#include <algorithm>
#include <stdexcept>

namespace eqt::models {
namespace {

void one_of(const std::string& field, const std::string& value, std::initializer_list<const char*> choices) {
  std::string all;
  for (auto c : choices) {
    if (value == c) return;
    all += (all.empty() ? "" : " | ") + std::string(c);
  }
  throw std::invalid_argument("config " + field + " = '" + value + "' is invalid; expected " + all);
}

// A name parsed by the layer that owns the list (solver methods, gradient modes).
template <class Parse>
void named(const std::string& field, const std::string& value, Parse parse, const std::string& choices) {
  try {
    parse();
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("config " + field + " = '" + value + "' is invalid; expected " + choices);
  }
}

void at_least(const std::string& field, double value, double lo) {
  if (!(value >= lo))
    throw std::invalid_argument("config " + field + " = " + std::to_string(value) + " is invalid; expected >= " +
                                std::to_string(lo));
}

void above(const std::string& field, double value, double lo) {
  if (!(value > lo))
    throw std::invalid_argument("config " + field + " = " + std::to_string(value) + " is invalid; expected > " +
                                std::to_string(lo));
}

}  // namespace

void ModelConfig::validate() const {
  find_family(family);  // names the choices
  one_of("block.mlp", mlp, {"relu2", "swiglu", "gelu"});
  one_of("block.norm", norm, {"rms", "layer"});
  one_of("block.positions", positions, {"rope", "sinusoidal"});
  one_of("looped.inject", inject, {"concat", "add"});
  one_of("looped.state_init", state_init, {"zero", "noise"});
  named("solver.method", solver, [&] { solve::method_from_string(solver); }, solve::method_choices());
  one_of("solver.stop_mode", stop_mode, {"abs", "rel"});
  named("grad.mode", grad, [&] { grad::mode_from_string(grad); }, grad::mode_choices());
  one_of("eqt.grad", eqt_grad, {"unrolled", "implicit"});
  one_of("eqt.reverse", eqt_reverse, {"attention", "block"});
  at_least("vocab", vocab, 2);
  at_least("max_seq", max_seq, 1);
  at_least("block.d_model", d_model, 2);
  at_least("block.n_heads", n_heads, 1);
  if (d_model % n_heads != 0 || (d_model / n_heads) % 2 != 0)
    throw std::invalid_argument("config block.d_model = " + std::to_string(d_model) + " must be a multiple of 2 * block.n_heads = " +
                                std::to_string(2 * n_heads));
  if (!(mlp_mult * double(d_model) >= 1))
    throw std::invalid_argument("config block.mlp_mult = " + std::to_string(mlp_mult) +
                                " is invalid; expected mlp_mult * d_model >= 1 (a hidden layer of at least one unit)");
  at_least("block.init_std", init_std, 0);
  above("block.rope_base", rope_base, 1);
  at_least("looped.init_noise_std", init_noise_std, 0);
  at_least("looped.prelude", prelude, 0);
  at_least("looped.coda", coda, 0);
  above("attractor.gamma_max", gamma_max, 0);
  at_least("grad.k", grad_k, 0);
  at_least("grad.backward_max_iter", backward_max_iter, 0);
  above("eqt.alpha", eqt_alpha, 0);
  above("eqt.gamma", eqt_gamma, 0);
  for (const auto& [name, v] : std::initializer_list<std::pair<const char*, double>>{{"eqt.lambda_rev", eqt_lambda_rev},
                                {"eqt.lambda_mask", eqt_lambda_mask}, {"eqt.lambda_conf", eqt_lambda_conf},
                                {"eqt.lambda_mem", eqt_lambda_mem}, {"eqt.beta", eqt_beta},
                                {"eqt.halt_eps", eqt_halt_eps}, {"eqt.mask_ratio", eqt_mask_ratio}})
    at_least(name, v, 0);
  at_least("eqt.cg_iters", eqt_cg_iters, 0);
  at_least("n_layers", n_layers, 0);
  at_least("looped.core", core, 1);
  at_least("looped.loops", loops, 1);
  at_least("looped.backprop_last", backprop_last, 0);
  at_least("deq.layers", deq_layers, 1);
  at_least("attractor.head_layers", head_layers, 1);
  at_least("attractor.jac_reg", head_jac_reg, 0);
  at_least("deq.jac_reg", jac_reg, 0);
  at_least("solver.low_precision_tol", low_precision_tol, 0);
  at_least("solver.train_max_iter", train_max_iter, 0);
  at_least("solver.eval_max_iter", eval_max_iter, 0);
  at_least("eqt.steps", eqt_steps, 0);
  at_least("eqt.eval_steps", eqt_eval_steps, 0);
  at_least("eqt.rev_window", eqt_rev_window, 1);
  if (eqt_memory)
    throw std::invalid_argument("config eqt.memory = true is not supported yet; expected false");
  solver_options(true);  // validates the solver fields by name
  solver_options(false);
}

nlohmann::json ModelConfig::to_json() const { return config::to_json(*this); }

ModelConfig ModelConfig::from_json(const nlohmann::json& j) { return from_json(j, ModelConfig()); }

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const ModelConfig& base) {
  ModelConfig c = config::from_json<ModelConfig>(j, base);
  c.validate();
  return c;
}

ModelConfig ModelConfig::from_saved_json(nlohmann::json j) {
  // eqt.reverse appeared with the attention predictor; earlier EqT checkpoints hold the
  // reverse block's weights.
  if (j.is_object() && j.value("family", "") == family_name(FamilyKind::EqT) &&
      !(j.contains("eqt") && j["eqt"].is_object() && j["eqt"].contains("reverse")))
    j["eqt"]["reverse"] = "block";
  return from_json(j);
}

ModelConfig ModelConfig::preset(const std::string& family) {
  ModelConfig c;
  c.family = family;
  c.grad = find_family(family).grad_mode;
  c.validate();
  return c;
}

nn::BlockOptions ModelConfig::block_options() const {
  nn::BlockOptions o(d_model, n_heads);
  o.attn().causal(causal).rope(positions == "rope").rope_base(rope_base).qk_norm(qk_norm);
  o.norm(norm).mlp(mlp).mlp_mult(mlp_mult);
  return o;
}

solve::SolverOptions ModelConfig::solver_options(bool training, bool low_precision) const {
  auto o = solve::SolverOptions()
               .method(solve::method_from_string(solver))
               .stop_mode(solve::stop_mode_from_string(stop_mode))
               .tol(training ? train_tol : eval_tol)
               .max_iter(std::max<int64_t>(1, training ? train_max_iter : eval_max_iter))
               .min_iter(training ? train_min_iter : eval_min_iter)
               .window(window)
               .memory(memory)
               .diverge(diverge)
               .beta(beta)
               .ridge(ridge)
               .ridge_relative(ridge_relative)
               .damping(damping)
               .freeze(freeze)
               .check_every(check_every)
               .compact(compact);
  o.min_iter(std::min(o.min_iter(), o.max_iter()));
  if (low_precision) o.tol(std::max(o.tol(), low_precision_tol));
  solve::validate(o);
  return o;
}

grad::GradOptions ModelConfig::grad_options() const {
  auto g = grad::GradOptions().mode(grad::mode_from_string(grad)).k(grad_k).tau(grad_tau).clip(grad_clip);
  g.backward().tol(backward_tol).max_iter(backward_max_iter).check_every(check_every);
  return g;
}

ModelConfig ModelConfig::with_refinement_cap(int64_t n) const {
  TORCH_CHECK(n >= 0, "refinement cap must be >= 0, got ", n);
  ModelConfig c = *this;
  c.eval_max_iter = n;
  c.eval_min_iter = std::min(c.eval_min_iter, n);
  c.eqt_eval_steps = n;
  if (find_family(c.family).kind == FamilyKind::Looped) c.loops = std::max<int64_t>(n, 1);
  return c;
}

void RefineLimits::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument("refinement limit " + what); };
  if (tol && !(*tol >= 0)) bad("tol = " + std::to_string(*tol) + " is invalid; expected a number >= 0");
  using Named = std::pair<const char*, std::optional<int64_t>>;
  for (const auto& [name, v] : {Named{"max_steps", max_steps}, Named{"min_steps", min_steps}, Named{"exact_steps", exact_steps}})
    if (v && *v < 0) bad(std::string(name) + " = " + std::to_string(*v) + " is invalid; expected an integer >= 0");
  if (exact_steps && (max_steps || min_steps || tol))
    bad("exact_steps fixes the step count; it cannot be combined with max_steps, min_steps or tol");
}

ModelConfig RefineLimits::applied_to(const ModelConfig& cfg) const {
  validate();
  ModelConfig c = cfg;
  if (exact_steps) {
    c = c.with_refinement_cap(*exact_steps);
    c.eval_min_iter = *exact_steps;  // no early stop
    c.eval_tol = 0;
    c.eqt_halt_eps = 0;
  }
  if (max_steps) c = c.with_refinement_cap(*max_steps);
  if (min_steps) c.eval_min_iter = *min_steps;  // solver_options() clamps it to the cap
  if (tol) {
    c.eval_tol = *tol;
    c.eqt_halt_eps = *tol;
  }
  c.validate();
  return c;
}

}  // namespace eqt::models
