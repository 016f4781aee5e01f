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

// The implicit gradient of a proximal minimiser h* = argmin_h E(h) + ||h - f||^2 / (2 gamma)
// (EqT's refinement at convergence), for the output y = f - gamma grad E(h*), whose value is
// h* and whose graph reaches theta and f: u = (Hess E + I / gamma)^-1 v / gamma by conjugate
// gradient on Hessian-vector products. grad_E(x) returns grad_x E at x with a graph (x
// requires grad). stats (optional) receives the CG iterations and worst relative residual.
BackwardTransform proximal_transform(std::function<torch::Tensor(const torch::Tensor&)> grad_E,
                                     const torch::Tensor& h_star, double gamma, int64_t iters, double tol,
                                     std::shared_ptr<BackwardStats> stats = nullptr);

namespace detail {

// The onestep / ift transform for f at the detached solution z_star (B, ...).
BackwardTransform implicit_transform(const torch::Tensor& z_star, const solve::Map& f,
                                     const GradOptions& opts, std::shared_ptr<BackwardStats> stats);

}  // namespace detail
}  // namespace eqt::grad
