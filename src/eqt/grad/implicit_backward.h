// eqt/grad/implicit_backward.h — a custom backward that replaces the incoming gradient.
//
// attach_backward(y, transform) is the identity in the forward pass; in the backward pass it
// receives v = dL/dy and passes transform(v) on into y's graph. The implicit gradient modes
// are such transforms: onestep u = v + J^T v, ift u = (I - J^T)^-1 v, and EqT's implicit mode
// u = (Hess E + I/gamma)^-1 v / gamma. Transforms build whatever graph they need (vector-
// Jacobian or Hessian-vector products) inside backward, so nothing of it is held between
// the forward and the backward pass.
// What it is not: differentiable twice (no double backward through the transform).
#pragma once

#include "eqt/grad/equilibrium.h"

#include <functional>

namespace eqt::grad {

using BackwardTransform = std::function<torch::Tensor(const torch::Tensor& v)>;  // (B,...) -> (B,...)

torch::Tensor attach_backward(const torch::Tensor& y, BackwardTransform transform);

namespace detail {

// The onestep / ift transform for f at the detached solution z_star (B, ...).
BackwardTransform implicit_transform(const torch::Tensor& z_star, const solve::Map& f,
                                     const GradOptions& opts, std::shared_ptr<BackwardStats> stats);

}  // namespace detail
}  // namespace eqt::grad
