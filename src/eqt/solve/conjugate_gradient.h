// eqt/solve/conjugate_gradient.h — batched conjugate gradient for A x = b, A symmetric
// positive definite and block-diagonal over the batch (each sample its own system).
// A is given as a function (B, ...) -> (B, ...), e.g. a Hessian-vector product. Samples
// stop independently at ||r|| < tol ||b||; a sample whose curvature p^T A p <= 0 (A not
// positive definite there) stops and keeps its current x, counted in `indefinite`.
// What it is not: preconditioned, or a solver for non-symmetric systems (use solve()).
#pragma once

#include "eqt/solve/solver.h"

namespace eqt::solve {

struct CGResult {
  torch::Tensor x;           // (B, ...) solution
  torch::Tensor rel_res;     // (B,) float64 ||b - A x|| / ||b||
  int64_t iters = 0;         // batched applications of A
  int64_t indefinite = 0;    // samples stopped on non-positive curvature
};

CGResult conjugate_gradient(const Map& A, const torch::Tensor& b, int64_t max_iter, double tol);

}  // namespace eqt::solve
