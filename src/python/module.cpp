// python/module.cpp — the compiled part of the Python package `eqt` (python/eqt/), built by
// CMake with pybind11 against the LibTorch that Debian's python3-torch uses, so tensors
// cross without a copy. Errors: std::invalid_argument -> ValueError, other std::exception
// and LibTorch's c10::Error -> RuntimeError, each with eqt's message.
// What it is not: the package users import (python/eqt/__init__.py wraps this module).
#include "python/binding.h"

#include <stdexcept>

PYBIND11_MODULE(_eqt, m) {
  namespace py = pybind11;
  m.doc() = "eqt's C++ core: fixed-point solvers, equilibrium gradients and trained models (use the package eqt)";
  m.attr("__version__") = EQT_VERSION;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what_without_backtrace());
    }
  });
  eqt::python::add_solver(m);
  eqt::python::add_model(m);
}
