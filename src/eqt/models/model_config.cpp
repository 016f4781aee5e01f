// eqt/models/model_config.cpp — validation and conversions of ModelConfig.
#include "eqt/models/model_config.h"

#include "eqt/config/fields.h"
#include "eqt/models/family.h"
#include "eqt/util/choices.h"

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
  at_least("vocab", vocab, 2);
  at_least("max_seq", max_seq, 1);
  at_least("n_layers", n_layers, 0);
  const auto& B = block;
  one_of("block.mlp", B.mlp, {"relu2", "swiglu", "gelu"});
  one_of("block.norm", B.norm, {"rms", "layer"});
  one_of("block.positions", B.positions, {"rope", "sinusoidal"});
  at_least("block.d_model", B.d_model, 2);
  at_least("block.n_heads", B.n_heads, 1);
  if (B.d_model % B.n_heads != 0 || (B.d_model / B.n_heads) % 2 != 0)
    throw std::invalid_argument("config block.d_model = " + std::to_string(B.d_model) +
                                " must be a multiple of 2 * block.n_heads = " + std::to_string(2 * B.n_heads));
  if (!(B.mlp_mult * double(B.d_model) >= 1))
    throw std::invalid_argument("config block.mlp_mult = " + std::to_string(B.mlp_mult) +
                                " is invalid; expected mlp_mult * d_model >= 1 (a hidden layer of at least one unit)");
  at_least("block.init_std", B.init_std, 0);
  above("block.rope_base", B.rope_base, 1);
  const auto& L = looped;
  one_of("looped.inject", L.inject, {"concat", "add"});
  one_of("looped.state_init", L.state_init, {"zero", "noise"});
  at_least("looped.init_noise_std", L.init_noise_std, 0);
  at_least("looped.prelude", L.prelude, 0);
  at_least("looped.core", L.core, 1);
  at_least("looped.coda", L.coda, 0);
  at_least("looped.loops", L.loops, 1);
  at_least("looped.backprop_last", L.backprop_last, 0);
  at_least("deq.layers", deq.layers, 1);
  at_least("deq.jac_reg", deq.jac_reg, 0);
  at_least("attractor.head_layers", attractor.head_layers, 1);
  above("attractor.gamma_max", attractor.gamma_max, 0);
  at_least("attractor.jac_reg", attractor.jac_reg, 0);
  named("solver.method", solver.method, [&] { solve::method_from_string(solver.method); }, solve::method_choices());
  one_of("solver.stop_mode", solver.stop_mode, {"abs", "rel"});
  at_least("solver.low_precision_tol", solver.low_precision_tol, 0);
  at_least("solver.train_max_iter", solver.train_max_iter, 0);
  at_least("solver.eval_max_iter", solver.eval_max_iter, 0);
  solver.options(true);  // validates the other solver fields by name
  solver.options(false);
  named("grad.mode", grad.mode, [&] { grad::mode_from_string(grad.mode); }, grad::mode_choices());
  at_least("grad.k", grad.k, 0);
  at_least("grad.backward_max_iter", grad.backward_max_iter, 0);
  const auto& E = eqt;
  one_of("eqt.grad", E.grad, {"unrolled", "implicit"});
  one_of("eqt.reverse", E.reverse, {"attention", "block"});
  above("eqt.alpha", E.alpha, 0);
  above("eqt.gamma", E.gamma, 0);
  for (const auto& [name, v] : std::initializer_list<std::pair<const char*, double>>{
           {"eqt.lambda_rev", E.lambda_rev}, {"eqt.lambda_mask", E.lambda_mask}, {"eqt.lambda_conf", E.lambda_conf},
           {"eqt.lambda_mem", E.lambda_mem}, {"eqt.beta", E.beta}, {"eqt.halt_eps", E.halt_eps},
           {"eqt.mask_ratio", E.mask_ratio}})
    at_least(name, v, 0);
  at_least("eqt.cg_iters", E.cg_iters, 0);
  at_least("eqt.steps", E.steps, 0);
  at_least("eqt.eval_steps", E.eval_steps, 0);
  at_least("eqt.rev_window", E.rev_window, 1);
  at_least("eqt.mem_slots", E.mem_slots, 1);
  above("eqt.mem_tau", E.mem_tau, 0);
  at_least("eqt.mem_momentum", E.mem_momentum, 0);
  if (E.mem_momentum >= 1)
    throw std::invalid_argument("config eqt.mem_momentum = " + std::to_string(E.mem_momentum) +
                                " is invalid; expected a number in [0, 1)");
  at_least("eqt.halt_energy", E.halt_energy, 0);
  at_least("eqt.entropy_min_steps", E.entropy_min_steps, 0);
  // The implicit gradient assumes h_K minimises the energy it was refined on: tokens stopped
  // early by their entropy budget have not, and a bank moved after the forward (before the
  // backward's Hessian-vector products) is another energy.
  if (E.grad == "implicit" && (E.memory || E.entropy_steps))
    throw std::invalid_argument(std::string("config eqt.") + (E.memory ? "memory" : "entropy_steps") +
                                " = true with eqt.grad = implicit is not supported; expected eqt.grad = unrolled");
  one_of("trm.mixer", trm.mixer, {"attention", "mlp"});
  one_of("trm.inner", trm.inner, {"unrolled", "solve"});
  at_least("trm.layers", trm.layers, 1);
  at_least("trm.h_cycles", trm.h_cycles, 1);
  at_least("trm.l_cycles", trm.l_cycles, 1);
  at_least("trm.jac_reg", trm.jac_reg, 0);
  if (trm.mixer == "mlp" && block.causal)
    throw std::invalid_argument("config trm.mixer = 'mlp' mixes every position with every other, so with "
                                "block.causal = true (a next-token task) each position would see its answer; "
                                "expected trm.mixer = 'attention' for causal tasks, or a non-causal task (sudoku, maze)");
  if (halt.head && !find_family(family).has_state)
    throw std::invalid_argument("config halt.head = true: family '" + family +
                                "' has no loop state to read; expected false, or a family with one (" +
                                util::choices(state_families()) + ")");
}

nlohmann::json ModelConfig::to_json() const { return config::to_json(*this); }

ModelConfig ModelConfig::from_json(const nlohmann::json& j) { return from_json(j, ModelConfig()); }

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const ModelConfig& base) {
  ModelConfig c = config::from_json<ModelConfig>(j, base);
  c.validate();
  return c;
}

ModelConfig ModelConfig::from_saved_json(nlohmann::json j) {
  if (j.is_object() && j.contains("family") && j["family"].is_string()) {
    const auto& row = find_family(j["family"].get<std::string>());
    if (row.upgrade_saved) row.upgrade_saved(j);
  }
  return from_json(j);
}

ModelConfig ModelConfig::preset(const std::string& family) {
  const auto& row = find_family(family);
  ModelConfig c;
  c.family = row.name;
  return from_json(nlohmann::json::parse(row.preset), c);
}

nn::BlockOptions ModelConfig::block_options() const {
  nn::BlockOptions o(block.d_model, block.n_heads);
  o.attn().causal(block.causal).rope(block.positions == "rope").rope_base(block.rope_base).qk_norm(block.qk_norm);
  o.norm(block.norm).mlp(block.mlp).mlp_mult(block.mlp_mult);
  return o;
}

solve::SolverOptions SolverConfig::options(bool training, bool low_precision) const {
  auto o = solve::SolverOptions()
               .method(solve::method_from_string(method))
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

grad::GradOptions GradConfig::options(int64_t check_every) const {
  auto g = grad::GradOptions().mode(grad::mode_from_string(mode)).k(k).tau(tau).clip(clip);
  g.backward().tol(backward_tol).max_iter(backward_max_iter).check_every(check_every);
  return g;
}

ModelConfig ModelConfig::with_refinement_cap(int64_t n) const {
  TORCH_CHECK(n >= 0, "refinement cap must be >= 0, got ", n);
  ModelConfig c = *this;
  find_family(c.family).cap_refinement(c, n);
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

RefineLimits RefineLimits::over(const RefineLimits& base) const {
  if (exact_steps || empty()) return exact_steps ? *this : base;
  RefineLimits r = base;
  r.exact_steps.reset();
  if (tol) r.tol = tol;
  if (max_steps) r.max_steps = max_steps;
  if (min_steps) r.min_steps = min_steps;
  return r;
}

ModelConfig RefineLimits::applied_to(const ModelConfig& cfg) const {
  validate();
  ModelConfig c = cfg;
  if (exact_steps) {
    c = c.with_refinement_cap(*exact_steps);
    c.solver.eval_min_iter = *exact_steps;  // no early stop
    c.solver.eval_tol = 0;
    c.eqt.halt_eps = 0;
    c.eqt.halt_energy = 0;
    c.eqt.entropy_steps = false;
  }
  if (max_steps) c = c.with_refinement_cap(*max_steps);
  if (min_steps) c.solver.eval_min_iter = *min_steps;  // solver_options() clamps it to the cap
  if (tol) {
    c.solver.eval_tol = *tol;
    c.eqt.halt_eps = *tol;
  }
  c.validate();
  return c;
}

}  // namespace eqt::models
