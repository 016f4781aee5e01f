// eqt/models/closed_loop.h — what the fixed-point families (deq, attractor) share: the
// residual map they solve, its Jacobian regulariser, and the solve's statistics in the
// model's stats format.
#pragma once

#include "eqt/grad/equilibrium.h"
#include "eqt/models/model.h"
#include "eqt/nn/block.h"

namespace eqt::models {

// Statistics of an equilibrium (forward solve, and the backward solve once it has run).
// f: the map that was solved (for the on-demand Jacobian radius).
RefineStats stats_from(const grad::Equilibrium& eq, const solve::Map& f);

// weight * mean_b ||J_b||_F^2 / D at z* (Hutchinson, one vector, differentiable; J = df/dz,
// D = numel of a sample): the Jacobian regulariser that keeps the map contractive near its
// equilibrium (REFERENCE 4). z_star is detached here.
torch::Tensor jacobian_penalty(const solve::Map& f, const torch::Tensor& z_star, double weight);

// y -> stack(y + c, past) - y = c + Delta(y + c): the map whose fixed point the attractor
// head and the DEQ core solve for (Delta: the stack's summed residual increments). past:
// cached keys and values of earlier positions' final states, or null. f is kept until
// backward runs in training, so it captures the stack and c by value.
solve::Map residual_map(nn::BlockStack stack, torch::Tensor c, const std::vector<nn::KVCache>* past);

// The same map on a subset of the batch (solve::RowMap): c and the cached keys / values
// sliced to the rows once per call, so a frozen solve evaluates the stack on live rows only.
solve::RowMap residual_rows(nn::BlockStack stack, torch::Tensor c, const std::vector<nn::KVCache>* past);

// What the attractor head and the DEQ core both do: solve y = residual_map(stack, c, past)(y)
// from z0 (B, T, C) with cfg's solver and gradient options (training: the train_* ones),
// handing the solver residual_rows so that frozen rows leave the batch. While bf16 autocast
// is on, the tolerance is at least cfg.low_precision_tol (ModelConfig::solver_options).
// Returns the map as well: stats_from and jacobian_penalty take it.
// Their refinement cap (family.h): n solver iterations at inference, 0 decodes without a solve.
void cap_solver_iterations(ModelConfig& c, int64_t n);

struct ResidualSolve {
  solve::Map f;
  grad::Equilibrium eq;
};
ResidualSolve solve_residual(nn::BlockStack stack, torch::Tensor c, const std::vector<nn::KVCache>* past,
                             const torch::Tensor& z0, const ModelConfig& cfg, bool training);

}  // namespace eqt::models
