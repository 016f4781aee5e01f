// eqt/solve/solver.h — batched fixed-point solvers for z = f(z).
//
// What it is: the options, the per-sample result record and the two entry points
//   solve(f, z0, opts)   the forward solve, no autograd graph (the normal case);
//   unroll(f, z0, opts)  the same damped iteration recorded by autograd (the
//                        memory-hungry baseline that implicit gradients replace).
// A caller that can evaluate f on a subset of the batch passes `rows` too; the solve then
// drops stopped samples from the batch it iterates (freeze + compact) instead of
// evaluating f on them again.
// What it is not: anything about transformers. f is an opaque batched map from
// (B, ...) to (B, ...) in which samples do not interact; every statistic is per sample.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

namespace eqt::solve {

// f: (B, ...) -> (B, ...), same shape, samples independent.
using Map = std::function<torch::Tensor(const torch::Tensor&)>;
// rows: (n,) int64 indices into the batch of z0, ascending. Returns f restricted to those
// samples: rows(idx)(z.index_select(0, idx)) == f(z).index_select(0, idx). Called once per
// compaction (so it may slice what f captures once, not at every evaluation).
using RowMap = std::function<Map(const torch::Tensor& rows)>;

enum class Method { Picard, Anderson, Broyden };  // Picard = plain / damped iteration
enum class StopMode { Abs, Rel };
enum class Status : int64_t { Converged = 0, MaxIter = 1, Diverged = 2 };

// Upper bounds validate() enforces: the Anderson window and Broyden memory keep that many
// copies of the batch's state; max_iter bounds a solve's work and its traces.
constexpr int64_t kMaxHistory = 100;
constexpr int64_t kMaxIterations = 100000;

struct SolverOptions {
  TORCH_ARG(Method, method) = Method::Anderson;
  // Stop when every sample's residual (abs or rel, see stop_mode) < tol and
  // at least min_iter f-evaluations were made, or after max_iter evaluations.
  TORCH_ARG(double, tol) = 1e-4;
  TORCH_ARG(StopMode, stop_mode) = StopMode::Rel;
  TORCH_ARG(int64_t, max_iter) = 64;
  TORCH_ARG(int64_t, min_iter) = 0;
  // Converged samples stop being updated while the others go on.
  TORCH_ARG(bool, freeze) = false;
  // Picard: z <- (1 - damping) z + damping f(z).
  TORCH_ARG(double, damping) = 1.0;
  // Anderson window m: the history never grows beyond it.
  TORCH_ARG(int64_t, window) = 5;
  // Anderson: mixing beta and ridge lambda of the bordered least-squares system.
  TORCH_ARG(double, beta) = 1.0;
  TORCH_ARG(double, ridge) = 1e-4;
  // true: the ridge is lambda * mean(diag(G G^T)) per sample (scale-free); false: lambda
  // itself, as in the reference code, which swamps G G^T once residuals are small
  // (docs/solvers.md has the measurement).
  TORCH_ARG(bool, ridge_relative) = true;
  // Broyden: rank-one updates kept; when full, the approximation restarts from -I.
  TORCH_ARG(int64_t, memory) = 32;
  // A sample diverges when a value is not finite, its relative residual exceeds
  // this, or its iterate's norm grows beyond this times its starting scale.
  TORCH_ARG(double, diverge) = 1e4;
  // Test "has every sample stopped?" (and compact) only every k-th evaluation (and at
  // max_iter): the loop's exit waits up to k - 1 evaluations. The per-sample bookkeeping
  // (when each sample met the tolerance, diverged) is exact at every evaluation: it reads
  // the rows' residual norms on the host each time (one small device-to-host copy, a
  // synchronisation on a GPU), which replaced ~50 tiny device operations per evaluation.
  TORCH_ARG(int64_t, check_every) = 1;
  // With freeze and a RowMap: at a host check (see check_every) where at least this fraction
  // of the rows still being iterated has stopped (met the test or diverged), those rows are
  // dropped and f is evaluated on the rest only; 0 = never. The threshold trades the cost of
  // re-slicing the solver's history (and what f captures) against evaluations saved.
  TORCH_ARG(double, compact) = 0.125;
};

struct SolveResult {
  torch::Tensor z;          // (B, ...) the solution, detached; never holds NaN
  torch::Tensor fz;         // (B, ...) f(z), already computed to measure z's residual
                            // (z itself for a sample that diverged at the first evaluation)
  torch::Tensor steps;      // (B,) int64 f-evaluations until the sample met its stop test
  torch::Tensor status;     // (B,) int64 values of Status
  torch::Tensor abs_res;    // (B,) float64 ||f(z) - z|| of the returned z
  torch::Tensor rel_res;    // (B,) float64 ||f(z) - z|| / (||f(z)|| + eps)
  torch::Tensor abs_trace;  // (S, B) float64 absolute residual at every evaluation
  torch::Tensor rel_trace;  // (S, B) float64 relative residual at every evaluation
  int64_t fevals = 0;       // batched evaluations of f made (S)
  int64_t row_evals = 0;    // samples evaluated, summed over the S evaluations (<= S * B)

  int64_t count(Status s) const;  // how many samples ended with status s
  bool all_converged() const { return count(Status::Converged) == z.size(0); }
};

// Throws std::invalid_argument naming the bad field, its value and what is accepted.
void validate(const SolverOptions& opts);

// The forward solve: runs under NoGradGuard, so f builds no graph.
// rows (optional): f restricted to subsets of the batch, which lets freeze skip stopped
// samples (opts.compact); the result is the same as without it.
SolveResult solve(const Map& f, const torch::Tensor& z0, const SolverOptions& opts, const RowMap& rows = {});

// Damped Picard iteration with autograd recording (method must be Picard). The returned z
// carries the graph of every step; statistics are as for solve().
SolveResult unroll(const Map& f, const torch::Tensor& z0, const SolverOptions& opts);

// Names used by configs and the command line; parsing errors name the value and the choices.
std::string to_string(Method m);
std::string to_string(StopMode m);
std::string to_string(Status s);
Method method_from_string(const std::string& s);
const std::vector<Method>& all_methods();  // the one list of methods
std::string method_choices();              // "picard | anderson | broyden"
StopMode stop_mode_from_string(const std::string& s);

}  // namespace eqt::solve
