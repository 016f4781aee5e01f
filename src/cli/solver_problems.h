// cli/solver_problems.h — the fixed-point problems `eqt bench solver` runs.
//   linear-R  z = A z + b with symmetric A of spectral radius R (eigenvalues spread over
//             [-R, R]), float64, known fixed point (I - A)^-1 b;
//   tanh-net  z = W2 tanh(W1 z + u) + c, a random two-layer map (batch x width, hidden
//             width >= 1024) scaled so ||W2|| ||W1|| = 0.9: a contraction with trainable W1, W2.
#pragma once

#include "eqt/solve/solver.h"

#include <string>

namespace eqt::cli {

struct Problem {
  std::string name;
  solve::Map f;
  torch::Tensor z0;              // (B, D) start
  std::vector<torch::Tensor> params;  // trainable tensors of f (tanh-net), for gradients
  double tol = 1e-6;             // relative residual the bench asks every solver to reach
  int64_t max_iter = 1000;
};

Problem linear_problem(double radius, int64_t batch, int64_t dim, uint64_t seed);
Problem tanh_net_problem(int64_t batch, int64_t width, int64_t hidden, uint64_t seed);

}  // namespace eqt::cli
