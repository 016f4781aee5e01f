// python/binding.h — what the files of the Python module `eqt._eqt` share: the module's
// parts (registered by module.cpp), a Python callable as a solver map, and the solver options
// from keyword arguments.
// What it is not: the Python package (python/eqt/__init__.py wraps these in classes).
#pragma once

#include "eqt/grad/equilibrium.h"

#include <torch/extension.h>

namespace eqt::python {

namespace py = pybind11;

void add_solver(py::module_& m);  // solve, equilibrium, the test hook _solve_tanh
void add_model(py::module_& m);   // load, Model

// A Python callable f(z) -> tensor as a solver map. It takes the GIL when called (the autograd
// engine calls it from loss.backward() with the GIL released), and refuses an output that is
// not a tensor of z's shape, dtype and device, naming both. The callable is released with
// the GIL held whenever the last copy of the map goes (an autograd graph may hold it).
solve::Map python_map(py::object f);

// SolverOptions from keyword names: method, tol, stop_mode, max_iter, min_iter, freeze,
// damping, window, beta, ridge, ridge_relative, memory, diverge, check_every, compact.
// std::invalid_argument for an unknown name (listing the accepted ones) or a bad value.
solve::SolverOptions solver_options(const py::dict& kw, solve::SolverOptions base = {});

// A SolveResult's tensors and counts as a dict (steps, status, residuals, traces, fevals).
py::dict solve_stats(const solve::SolveResult& r);

}  // namespace eqt::python
