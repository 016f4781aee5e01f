// eqt/grad/implicit_backward.h — the custom backward of the onestep and ift modes.
//
// ImplicitBackward is the identity in the forward pass. In the backward pass it receives
// v = dL/dy (y = f(z*)) and returns u: u = v + J^T v (onestep) or the solution of
// u = J^T u + v (ift), where J^T w is a vector-Jacobian product of f at z* computed on a
// graph built inside backward (so nothing of it is held between forward and backward).
// What it is not: differentiable twice (no double backward through the implicit gradient).
#pragma once

#include "eqt/grad/equilibrium.h"

namespace eqt::grad::detail {

// Attaches the implicit backward to y (B, ...). z_star (B, ...) is the detached solution.
torch::Tensor attach_implicit(const torch::Tensor& y, const torch::Tensor& z_star,
                              const solve::Map& f, const GradOptions& opts,
                              std::shared_ptr<BackwardStats> stats);

}  // namespace eqt::grad::detail
