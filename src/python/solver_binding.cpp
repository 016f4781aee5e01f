// python/solver_binding.cpp — eqt's fixed-point solvers and equilibrium gradients for a
// Python callable: _eqt.solve(f, z0, options) and _eqt.equilibrium(f, z0, solver, grad).
// The solve runs eqt's C++ solver (solve/solver.h) on f as given; the equilibrium attaches
// the chosen gradient (grad/equilibrium.h: unrolled, truncated, phantom, onestep, ift) to
// z*, so that loss.backward() reaches f's parameters and whatever f captured.
// Option values are taken strictly (an int for an int, a bool for a bool), and errors name the
// option, the value and the type expected.
// What it is not: a Python re-implementation of anything (every number comes from C++).
#include "python/binding.h"

#include <functional>
#include <map>

namespace eqt::python {
namespace {

// Holds a Python object and drops its reference with the GIL held, whichever thread the
// last owner dies on (the autograd engine frees graphs without it).
struct PyRef {
  py::object obj;
  explicit PyRef(py::object o) : obj(std::move(o)) {}
  ~PyRef() {
    if (!Py_IsInitialized()) {
      obj.release();  // the interpreter is gone: nothing to decrement
      return;
    }
    py::gil_scoped_acquire gil;
    obj = py::object();
  }
};

void check_start(const torch::Tensor& z0) {
  if (!z0.defined()) throw std::invalid_argument("z0 is None; expected a tensor (B, ...)");
  if (z0.dim() < 1 || z0.size(0) == 0)
    throw std::invalid_argument("z0 has shape " + c10::str(z0.sizes()) + "; expected (B, ...) with B >= 1 samples");
  if (!z0.is_floating_point())
    throw std::invalid_argument(std::string("z0 has dtype ") + c10::toString(z0.scalar_type()) +
                                "; expected a floating-point tensor");
  if (!torch::isfinite(z0).all().item<bool>()) throw std::invalid_argument("z0 has values that are not finite");
}

// Python values of the types an option takes, strictly: bool is not an int here (Python's
// bool is one, and max_iter=True would silently mean 1), an int is a float.
std::string str_of(const py::handle& v) {
  if (!py::isinstance<py::str>(v)) throw py::cast_error();
  return v.cast<std::string>();
}
int64_t int_of(const py::handle& v) {
  if (py::isinstance<py::bool_>(v) || !py::isinstance<py::int_>(v)) throw py::cast_error();
  return v.cast<int64_t>();
}
double float_of(const py::handle& v) {
  if (py::isinstance<py::bool_>(v) || !(py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)))
    throw py::cast_error();
  return v.cast<double>();
}
bool bool_of(const py::handle& v) {
  if (!py::isinstance<py::bool_>(v)) throw py::cast_error();
  return v.cast<bool>();
}

// The one list of keyword names for solver options: setter and the type it takes.
struct Option {
  std::function<void(solve::SolverOptions&, const py::handle&)> set;
  const char* type;
};
const std::map<std::string, Option>& option_table() {
  static const std::map<std::string, Option> t = {
      {"method", {[](auto& o, auto v) { o.method(solve::method_from_string(str_of(v))); }, "a str"}},
      {"tol", {[](auto& o, auto v) { o.tol(float_of(v)); }, "a float"}},
      {"stop_mode", {[](auto& o, auto v) { o.stop_mode(solve::stop_mode_from_string(str_of(v))); }, "a str"}},
      {"max_iter", {[](auto& o, auto v) { o.max_iter(int_of(v)); }, "an int"}},
      {"min_iter", {[](auto& o, auto v) { o.min_iter(int_of(v)); }, "an int"}},
      {"freeze", {[](auto& o, auto v) { o.freeze(bool_of(v)); }, "a bool"}},
      {"damping", {[](auto& o, auto v) { o.damping(float_of(v)); }, "a float"}},
      {"window", {[](auto& o, auto v) { o.window(int_of(v)); }, "an int"}},
      {"beta", {[](auto& o, auto v) { o.beta(float_of(v)); }, "a float"}},
      {"ridge", {[](auto& o, auto v) { o.ridge(float_of(v)); }, "a float"}},
      {"ridge_relative", {[](auto& o, auto v) { o.ridge_relative(bool_of(v)); }, "a bool"}},
      {"memory", {[](auto& o, auto v) { o.memory(int_of(v)); }, "an int"}},
      {"diverge", {[](auto& o, auto v) { o.diverge(float_of(v)); }, "a float"}},
      {"check_every", {[](auto& o, auto v) { o.check_every(int_of(v)); }, "an int"}},
      {"compact", {[](auto& o, auto v) { o.compact(float_of(v)); }, "a float"}},
  };
  return t;
}

std::string option_names() {
  std::string s;
  for (const auto& [k, _] : option_table()) s += (s.empty() ? "" : ", ") + k;
  return s;
}

grad::GradOptions grad_options(const py::dict& kw) {
  grad::GradOptions g;
  for (const auto& [key, value] : kw) {
    const auto k = key.cast<std::string>();
    const char* type = k == "mode" ? "a str" : k == "k" ? "an int" : k == "backward" ? "a dict" : "a float";
    try {
      if (k == "mode") g.mode(grad::mode_from_string(str_of(value)));
      else if (k == "k") g.k(int_of(value));
      else if (k == "tau") g.tau(float_of(value));
      else if (k == "clip") g.clip(float_of(value));
      else if (k == "backward") {
        if (!py::isinstance<py::dict>(value)) throw py::cast_error();
        g.backward(solver_options(value.cast<py::dict>(), g.backward()));
      } else {
        throw std::invalid_argument("unknown gradient option '" + k + "'; expected mode, k, tau, clip or backward");
      }
    } catch (const py::cast_error&) {
      throw std::invalid_argument("gradient option " + k + " = " + py::repr(value).cast<std::string>() +
                                  " is invalid; expected " + type);
    }
  }
  if (kw.contains("backward") && g.mode() != grad::Mode::IFT)
    throw std::invalid_argument("backward solver options apply to grad mode ift only, not " + grad::to_string(g.mode()));
  if (g.k() < 1) throw std::invalid_argument("gradient option k = " + std::to_string(g.k()) + " is invalid; expected >= 1");
  if (!(g.tau() > 0 && g.tau() <= 1))
    throw std::invalid_argument("gradient option tau = " + std::to_string(g.tau()) + " is invalid; expected (0, 1]");
  if (!(g.clip() >= 0)) throw std::invalid_argument("gradient option clip = " + std::to_string(g.clip()) + " is invalid; expected >= 0 (0: off)");
  return g;
}

py::object backward_stats(const std::shared_ptr<grad::BackwardStats>& b) {
  return py::cast(b);
}

}  // namespace

solve::Map python_map(py::object f) {
  if (!PyCallable_Check(f.ptr()))
    throw std::invalid_argument("f is " + py::repr(f).cast<std::string>() + "; expected a callable f(z) -> tensor");
  auto ref = std::make_shared<PyRef>(std::move(f));
  return [ref](const torch::Tensor& z) -> torch::Tensor {
    py::gil_scoped_acquire gil;
    py::object out = ref->obj(z);
    if (!THPVariable_Check(out.ptr()))
      throw std::invalid_argument("f returned " + py::str(py::type::handle_of(out).attr("__name__")).cast<std::string>() +
                                  "; it must return a tensor of z's shape");
    auto y = out.cast<torch::Tensor>();
    if (y.sizes() != z.sizes())
      throw std::invalid_argument("f mapped z of shape " + c10::str(z.sizes()) + " to shape " + c10::str(y.sizes()) +
                                  "; a fixed-point map must return its input's shape");
    if (y.scalar_type() != z.scalar_type() || y.device() != z.device())
      throw std::invalid_argument(std::string("f returned ") + c10::toString(y.scalar_type()) + " on " +
                                  y.device().str() + " for z of " + c10::toString(z.scalar_type()) + " on " +
                                  z.device().str() + "; it must keep z's dtype and device");
    return y;
  };
}

solve::SolverOptions solver_options(const py::dict& kw, solve::SolverOptions base) {
  for (const auto& [key, value] : kw) {
    const auto k = key.cast<std::string>();
    auto it = option_table().find(k);
    if (it == option_table().end())
      throw std::invalid_argument("unknown solver option '" + k + "'; expected one of " + option_names());
    try {
      it->second.set(base, value);
    } catch (const py::cast_error&) {
      throw std::invalid_argument("solver option " + k + " = " + py::repr(value).cast<std::string>() +
                                  " is invalid; expected " + it->second.type);
    }
  }
  solve::validate(base);
  return base;
}

py::dict solve_stats(const solve::SolveResult& r) {
  py::dict d;
  d["steps"] = r.steps;
  d["status"] = r.status;
  d["abs_res"] = r.abs_res;
  d["rel_res"] = r.rel_res;
  d["abs_trace"] = r.abs_trace;
  d["rel_trace"] = r.rel_trace;
  d["fevals"] = r.fevals;
  d["row_evals"] = r.row_evals;
  return d;
}

void add_solver(py::module_& m) {
  py::class_<grad::BackwardStats, std::shared_ptr<grad::BackwardStats>>(
      m, "BackwardStats", "the backward solve of the last loss.backward() (onestep / ift)")
      .def_readonly("calls", &grad::BackwardStats::calls)
      .def_readonly("fevals", &grad::BackwardStats::fevals)
      .def_readonly("max_rel_res", &grad::BackwardStats::max_rel_res)
      .def_readonly("not_converged", &grad::BackwardStats::not_converged);

  // The one lists, for the package (eqt.SOLVER_OPTIONS, eqt.GRAD_MODES, eqt.STATUS).
  py::list names;
  for (const auto& [k, _] : option_table()) names.append(k);
  m.attr("SOLVER_OPTIONS") = py::tuple(names);
  py::list modes;
  for (auto mode : grad::all_modes()) modes.append(grad::to_string(mode));
  m.attr("GRAD_MODES") = py::tuple(modes);
  py::dict status;
  for (auto st : {solve::Status::Converged, solve::Status::MaxIter, solve::Status::Diverged})
    status[py::int_(int64_t(st))] = solve::to_string(st);
  m.attr("STATUS") = status;
  m.def(
      "check_options",
      [](const py::dict& solver, const py::dict& gradient) {
        solver_options(solver);
        grad_options(gradient);
      },
      py::arg("solver"), py::arg("grad"), "raise ValueError for bad solver or gradient options (nothing else)");

  m.def(
      "solve",
      [](py::object f, const torch::Tensor& z0, const py::dict& options) {
        check_start(z0);
        const auto opts = solver_options(options);
        auto map = python_map(std::move(f));
        auto r = solve::solve(map, z0, opts);
        py::dict d = solve_stats(r);
        d["z"] = r.z;
        d["fz"] = r.fz;
        return d;
      },
      py::arg("f"), py::arg("z0"), py::arg("options") = py::dict(),
      "z* = f(z*) by eqt's solver, without an autograd graph: a dict of z, fz and per-sample statistics");

  m.def(
      "equilibrium",
      [](py::object f, const torch::Tensor& z0, const py::dict& solver, const py::dict& gradient) {
        check_start(z0);
        const auto fwd = solver_options(solver);
        const auto g = grad_options(gradient);
        auto map = python_map(std::move(f));
        auto eq = grad::find_equilibrium(map, z0, fwd, g);
        py::dict d = solve_stats(eq.forward);
        d["backward"] = backward_stats(eq.backward);
        return py::make_tuple(eq.z, d);
      },
      py::arg("f"), py::arg("z0"), py::arg("solver") = py::dict(), py::arg("grad") = py::dict(),
      "z* = f(z*) carrying the chosen gradient: (z, stats)");

  // Test hook: the same solve on f(z) = tanh(z W^T + x) computed in C++ alone, so that a test
  // can check that a Python callable through solve() gives the C++ solver's own result.
  m.def(
      "_solve_tanh",
      [](const torch::Tensor& W, const torch::Tensor& x, const torch::Tensor& z0, const py::dict& options) {
        check_start(z0);
        const auto opts = solver_options(options);
        torch::Tensor Wc = W, xc = x;
        solve::SolveResult r;
        {
          py::gil_scoped_release nogil;
          r = solve::solve([Wc, xc](const torch::Tensor& z) { return torch::tanh(torch::matmul(z, Wc.t()) + xc); }, z0,
                           opts);
        }
        py::dict d = solve_stats(r);
        d["z"] = r.z;
        return d;
      },
      py::arg("W"), py::arg("x"), py::arg("z0"), py::arg("options") = py::dict());
}

}  // namespace eqt::python
