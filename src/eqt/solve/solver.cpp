// eqt/solve/solver.cpp — the shared driver loop of every fixed-point solver.
//
// Per evaluation k (1-based) the driver computes f(x_k), the per-sample residuals of x_k,
// and then decides per sample:
//   diverged   a value is not finite, rel residual > diverge, or ||x_k|| > diverge * scale0
//              (scale0 = max(||x_1||, ||f(x_1)||)): the relative residual of a linearly
//              divergent map stays bounded, so growth of the iterate is the signal that works;
//   meeting    residual < tol and k >= min_iter;
// and keeps the last non-diverged iterate of every sample as its answer, so no NaN leaks out.
// With freeze on, a sample that meets the test stops moving; with freeze off it is iterated
// until the whole batch meets the test, and its `steps` is the evaluation at which its
// current run of meeting the test began.
#include "eqt/solve/solver.h"

#include "eqt/solve/stepper.h"
#include "eqt/util/autocast.h"

#include <limits>
#include <stdexcept>

namespace eqt::solve {
namespace {

constexpr double kNormEps = 1e-12;  // keeps rel residual finite at f(x) = 0

std::unique_ptr<detail::Stepper> make_stepper(const SolverOptions& o) {
  switch (o.method()) {
    case Method::Picard: return detail::make_picard(o);
    case Method::Anderson: return detail::make_anderson(o);
    case Method::Broyden: return detail::make_broyden(o);
  }
  TORCH_CHECK(false, "unknown solver method");
}

// Rows of t (B, D) whose entries are all finite -> (B, 1) bool.
torch::Tensor finite_rows(const torch::Tensor& t) {
  return torch::isfinite(t).all(1, /*keepdim=*/true);
}

SolveResult run(const Map& f, const torch::Tensor& z0, const SolverOptions& o, bool graph) {
  validate(o);
  TORCH_CHECK(z0.dim() >= 1 && z0.size(0) > 0, "solve: z0 must have a batch dimension, got ",
              z0.sizes());
  const auto shape = z0.sizes().vec();
  const int64_t B = shape[0];
  const int64_t D = z0.numel() / B;
  auto F = [&](const torch::Tensor& x) {  // (B, D) -> (B, D)
    auto fx = f(x.view(shape));
    TORCH_CHECK(fx.sizes() == z0.sizes(), "solve: f changed the shape from ", z0.sizes(),
                " to ", fx.sizes());
    // Under bf16 autocast f may return a lower precision: the iterate stays in z0's.
    return fx.reshape({B, D}).to(z0.scalar_type());
  };
  auto stepper = make_stepper(o);
  auto dopt = torch::TensorOptions().dtype(torch::kFloat64).device(z0.device());
  auto lopt = torch::TensorOptions().dtype(torch::kInt64).device(z0.device());

  torch::Tensor x = graph ? z0.reshape({B, D}) : z0.detach().reshape({B, D}).clone();  // (B, D)
  torch::Tensor z_out = x;                                       // (B, D) last good iterate
  torch::Tensor f_out = x;                                       // (B, D) f(z_out)
  torch::Tensor out_abs = torch::full({B}, std::numeric_limits<double>::infinity(), dopt);
  torch::Tensor out_rel = out_abs.clone();                       // (B,)
  torch::Tensor since = torch::zeros({B}, lopt);     // (B,) eval where meeting began, 0 = not
  torch::Tensor div_step = torch::zeros({B}, lopt);  // (B,) eval of divergence, 0 = never
  torch::Tensor scale0;                              // (B,) starting scale
  std::vector<torch::Tensor> abs_tr, rel_tr;

  int64_t k = 0;
  while (k < o.max_iter()) {
    torch::Tensor fx = F(x);
    ++k;
    // The solver's own arithmetic (norms, stop tests, the stepper's least squares) in full
    // precision even when f runs under mixed-precision autocast.
    util::NoAutocast full_precision;
    torch::Tensor xd = x.detach(), fd = fx.detach();
    torch::Tensor abs = (fd - xd).norm(2, 1).to(torch::kFloat64);  // (B,)
    torch::Tensor fnorm = fd.norm(2, 1).to(torch::kFloat64);
    torch::Tensor xnorm = xd.norm(2, 1).to(torch::kFloat64);
    torch::Tensor rel = abs / (fnorm + kNormEps);
    if (k == 1) scale0 = torch::maximum(xnorm, fnorm).clamp_min(kNormEps);
    abs_tr.push_back(abs);
    rel_tr.push_back(rel);

    // Samples whose iterate still moves: not diverged, and not frozen after convergence.
    torch::Tensor live = div_step.eq(0);
    if (o.freeze()) live = live & since.eq(0);
    torch::Tensor bad = live & (~torch::isfinite(abs) | ~torch::isfinite(rel) |
                                rel.gt(o.diverge()) | xnorm.gt(o.diverge() * scale0));
    div_step = torch::where(bad, torch::full_like(div_step, k), div_step);
    live = live & ~bad;

    torch::Tensor crit = o.stop_mode() == StopMode::Abs ? abs : rel;
    torch::Tensor meet = crit.lt(o.tol()) & torch::full_like(live, k >= o.min_iter());
    torch::Tensor started = torch::where(since.gt(0), since, torch::full_like(since, k));
    since = torch::where(live, torch::where(meet, started, torch::zeros_like(since)), since);
    z_out = torch::where(live.unsqueeze(1), x, z_out);
    f_out = torch::where(live.unsqueeze(1), fx, f_out);
    out_abs = torch::where(live, abs, out_abs);
    out_rel = torch::where(live, rel, out_rel);

    if (k == o.max_iter()) break;
    if (k % o.check_every() == 0 && (since.gt(0) | div_step.gt(0)).all().item<bool>()) break;

    torch::Tensor next = stepper->step(x, fx);
    next = torch::where(finite_rows(next.detach()), next, fx);
    torch::Tensor moving = live;
    if (o.freeze()) moving = moving & since.eq(0);
    x = torch::where(moving.unsqueeze(1), next, x);
  }

  SolveResult r;
  r.z = z_out.view(shape);
  r.fz = f_out.view(shape);
  if (!graph) r.z = r.z.detach(), r.fz = r.fz.detach();
  auto conv = since.gt(0), div = div_step.gt(0);
  r.status = torch::where(div, torch::full_like(since, int64_t(Status::Diverged)),
                          torch::where(conv, torch::full_like(since, int64_t(Status::Converged)),
                                       torch::full_like(since, int64_t(Status::MaxIter))));
  r.steps = torch::where(div, div_step, torch::where(conv, since, torch::full_like(since, k)));
  r.abs_res = out_abs;
  r.rel_res = out_rel;
  r.abs_trace = torch::stack(abs_tr);
  r.rel_trace = torch::stack(rel_tr);
  r.fevals = k;
  return r;
}

}  // namespace

int64_t SolveResult::count(Status s) const {
  return status.eq(int64_t(s)).sum().item<int64_t>();
}

void validate(const SolverOptions& o) {
  auto bad = [](const std::string& field, const std::string& value, const std::string& want) {
    throw std::invalid_argument("solver option " + field + " = " + value + " is invalid; expected " +
                                want);
  };
  if (!(o.tol() >= 0)) bad("tol", std::to_string(o.tol()), "a number >= 0");
  if (o.max_iter() < 1) bad("max_iter", std::to_string(o.max_iter()), "an integer >= 1");
  if (o.min_iter() < 0 || o.min_iter() > o.max_iter())
    bad("min_iter", std::to_string(o.min_iter()), "an integer in [0, max_iter]");
  if (!(o.damping() > 0 && o.damping() <= 1))
    bad("damping", std::to_string(o.damping()), "a number in (0, 1]");
  if (o.window() < 1) bad("window", std::to_string(o.window()), "an integer >= 1");
  if (o.memory() < 1) bad("memory", std::to_string(o.memory()), "an integer >= 1");
  if (!(o.beta() > 0 && o.beta() <= 1)) bad("beta", std::to_string(o.beta()), "a number in (0, 1]");
  if (!(o.ridge() >= 0)) bad("ridge", std::to_string(o.ridge()), "a number >= 0");
  if (!(o.diverge() > 1)) bad("diverge", std::to_string(o.diverge()), "a number > 1");
  if (o.check_every() < 1) bad("check_every", std::to_string(o.check_every()), "an integer >= 1");
}

SolveResult solve(const Map& f, const torch::Tensor& z0, const SolverOptions& opts) {
  torch::NoGradGuard no_grad;
  return run(f, z0, opts, /*graph=*/false);
}

SolveResult unroll(const Map& f, const torch::Tensor& z0, const SolverOptions& opts) {
  TORCH_CHECK(opts.method() == Method::Picard,
              "unroll: only Picard iteration is recorded by autograd, got ", to_string(opts.method()));
  return run(f, z0, opts, /*graph=*/true);
}

}  // namespace eqt::solve
