// eqt/grad/equilibrium.h — find z* = f(z*) and attach a training gradient to it.
//
// What it is: the one call models make. f(z) must build its autograd graph to the
// parameters and the injection whenever grad mode is on; the modes differ only in how
// dL/dz* is carried into that graph:
//   unrolled   damped iteration recorded step by step (memory grows with iterations);
//   truncated  damped steps, only the last k recorded (looped-transformer style): max_iter
//              evaluations of f in all, the unrecorded solve's last one measuring its
//              residual, so max_iter - 1 steps (unrolled, likewise, records max_iter - 1);
//   phantom    solve without graph, then k damped steps z <- (1-tau) z + tau f(z) recorded;
//   onestep    solve, y = f(z*) recorded, and dL/dy = v is replaced by u = v + J^T v
//              (J = df/dz at z*), optionally clipped so ||J^T v|| <= clip ||v|| per sample;
//   ift        as onestep but u solves u = J^T u + v (implicit function theorem), with the
//              backward solver options.
// With grad mode off the solve result is returned as is (no extra evaluation).
// rows (optional): f restricted to subsets of the batch, handed to the forward solve so
// that freezing skips stopped samples (solver.h, RowMap); the result does not change.
// f is kept until backward runs (onestep / ift): it must capture what it uses by value.
// What it is not: a model. It knows nothing of transformers, tokens or losses.
#pragma once

#include "eqt/solve/solver.h"

#include <memory>

namespace eqt::grad {

enum class Mode { Unrolled, Truncated, Phantom, OneStep, IFT };

struct GradOptions {
  TORCH_ARG(Mode, mode) = Mode::OneStep;
  TORCH_ARG(int64_t, k) = 1;       // truncated / phantom: recorded steps
  TORCH_ARG(double, tau) = 1.0;    // truncated / phantom / unrolled: damping of recorded steps
  TORCH_ARG(double, clip) = 0.0;   // onestep: 0 = off
  // ift: the solve of u = J^T u + v (Anderson, REFERENCE 2 uses it at 770M).
  TORCH_ARG(solve::SolverOptions, backward) =
      solve::SolverOptions().tol(1e-6).max_iter(64).method(solve::Method::Anderson);
};

// Filled in when backward runs (onestep / ift only).
struct BackwardStats {
  int64_t calls = 0;
  int64_t fevals = 0;        // vector-Jacobian products of the last backward
  double max_rel_res = 0.0;  // ift: worst per-sample relative residual of the last backward
  int64_t not_converged = 0; // ift: samples that did not reach the backward tolerance
};

struct Equilibrium {
  torch::Tensor z;            // (B, ...) the equilibrium, carrying the chosen gradient
  solve::SolveResult forward; // per-sample statistics of the forward solve
  std::shared_ptr<BackwardStats> backward = std::make_shared<BackwardStats>();
};

Equilibrium find_equilibrium(const solve::Map& f, const torch::Tensor& z0,
                             const solve::SolverOptions& fwd, const GradOptions& g,
                             const solve::RowMap& rows = {});

std::string to_string(Mode m);
Mode mode_from_string(const std::string& s);  // throws std::invalid_argument naming choices
const std::vector<Mode>& all_modes();          // the one list of gradient modes
std::string mode_choices();                    // "unrolled | truncated | phantom | onestep | ift"

}  // namespace eqt::grad
