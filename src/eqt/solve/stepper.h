// eqt/solve/stepper.h — the one thing that differs between solvers: how the next iterate
// is proposed from the current one and its image. The shared driver (solver.cpp) owns the
// loop, the stopping test, divergence handling and freezing; steppers own their history.
// Internal to eqt/solve.
#pragma once

#include "eqt/solve/solver.h"

#include <memory>

namespace eqt::solve::detail {

class Stepper {
 public:
  virtual ~Stepper() = default;
  // x: (B, D) current iterate, fx: (B, D) = f(x). Returns (B, D) the next iterate.
  // Rows may be non-finite; the driver replaces them by fx (REFERENCE 2's fall-back).
  virtual torch::Tensor step(const torch::Tensor& x, const torch::Tensor& fx) = 0;
  // The driver dropped samples: keep only the history of rows idx (n,) int64 of the current
  // batch, in that order, so the next step() gets (n, D).
  virtual void keep(const torch::Tensor& idx) = 0;
};

std::unique_ptr<Stepper> make_picard(const SolverOptions& opts);
std::unique_ptr<Stepper> make_anderson(const SolverOptions& opts);
std::unique_ptr<Stepper> make_broyden(const SolverOptions& opts);

}  // namespace eqt::solve::detail
