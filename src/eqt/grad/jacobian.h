// eqt/grad/jacobian.h — Jacobian diagnostics and regularisers for training code.
//
// jacobian_frobenius_sq: Hutchinson's estimate of ||J||_F^2 per sample, J = df/dz at z:
//   E_eps ||eps^T J||^2 = tr(J J^T) = ||J||_F^2 for eps ~ N(0, I); averaged over n vectors.
//   With create_graph the estimate is differentiable, so lambda * mean(est) / D can be added
//   to a loss (the DEQ Jacobian regulariser; weight ~1e-3..1e-1, REFERENCE 4).
// spectral_radius: power iteration on J^T by vector-Jacobian products; per-sample estimate of
//   the largest |eigenvalue| (exact for a dominant real eigenvalue; for a complex pair it is
//   the geometric mean growth rate over the iterations).
// What it is not: an exact Jacobian; nothing here materialises a (D, D) matrix.
#pragma once

#include "eqt/solve/solver.h"

namespace eqt::grad {

// fz (B, ...) = f(z) built with graph from z (B, ...), z requires grad.
// Returns (B,) estimates of ||J_b||_F^2.
torch::Tensor jacobian_frobenius_sq(const torch::Tensor& fz, const torch::Tensor& z,
                                    int64_t n_vectors = 1, bool create_graph = true);

// Returns (B,) estimates of the spectral radius of df/dz at z (z is detached internally).
// The start vector comes from the global generator, or from `seed` when >= 0 (a private
// generator: a diagnostic that must not change the random draws of the training it watches).
torch::Tensor spectral_radius(const solve::Map& f, const torch::Tensor& z, int64_t iters = 30, int64_t seed = -1);

}  // namespace eqt::grad
