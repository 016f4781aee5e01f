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
// Compaction (freeze, a RowMap, opts.compact): at a host check, rows that stopped are set
// aside with their answers and the loop goes on with the others only (x, the stepper's
// history and f all sliced to them); the answers are put back in batch order at the end.
// Every per-sample number is the same as without compaction: samples do not interact, a
// frozen row never moves again, and its later trace entries repeat its last residual,
// which is what re-evaluating its unchanged iterate would give.
// Where the bookkeeping runs: the device computes three norms per row, and one (3, n) copy
// brings them to the host, where the decisions above are a loop over the rows. Done with
// tensors it was ~50 small operations per evaluation (67 us against a 24 us map on
// `bench solver`'s linear-0.95); the host loop leaves the map, the norms and the step, and
// the iterate is only masked (torch::where) in evaluations where some row stopped.
#include "eqt/solve/solver.h"

#include "eqt/solve/stepper.h"
#include "eqt/util/autocast.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>
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

SolveResult run(const Map& f_all, const torch::Tensor& z0, const SolverOptions& o, bool graph, const RowMap& row_map) {
  validate(o);
  TORCH_CHECK(z0.dim() >= 1 && z0.size(0) > 0, "solve: z0 must have a batch dimension, got ",
              z0.sizes());
  const auto shape = z0.sizes().vec();
  const int64_t B = shape[0];
  const int64_t D = z0.numel() / B;
  // Compaction re-slices the batch, so it needs a map that can be restricted to rows, and
  // no autograd graph (unroll records the whole batch's steps).
  const bool compacting = !graph && o.freeze() && o.compact() > 0 && row_map;
  Map f = f_all;
  int64_t row_evals = 0;
  auto F = [&](const torch::Tensor& x) {  // (n, D) -> (n, D)
    auto n_shape = shape;
    n_shape[0] = x.size(0);
    auto fx = f(x.view(n_shape));
    TORCH_CHECK(fx.sizes() == c10::IntArrayRef(n_shape), "solve: f changed the shape from ", c10::IntArrayRef(n_shape),
                " to ", fx.sizes());
    row_evals += x.size(0);
    // Under bf16 autocast f may return a lower precision: the iterate stays in z0's.
    return fx.reshape({x.size(0), D}).to(z0.scalar_type());
  };
  auto stepper = make_stepper(o);
  const auto device = z0.device();
  auto lopt = torch::TensorOptions().dtype(torch::kInt64).device(device);
  // A host mask (n,) as a (n, 1) bool tensor on the iterate's device, for torch::where.
  auto mask_of = [&](const std::vector<uint8_t>& m) {
    return torch::from_blob(const_cast<uint8_t*>(m.data()), {int64_t(m.size()), 1}, torch::kBool).to(device, /*non_blocking=*/false, /*copy=*/true);
  };
  auto index_of = [&](const std::vector<int64_t>& v) {
    return torch::from_blob(const_cast<int64_t*>(v.data()), {int64_t(v.size())}, torch::kInt64).to(lopt, false, true);
  };

  torch::Tensor x = graph ? z0.reshape({B, D}) : z0.detach().reshape({B, D}).clone();  // (n, D)
  torch::Tensor z_keep = x;                                      // (n, D) last good iterate
  torch::Tensor f_keep = x;                                      // (n, D) f(z_keep)
  // Per sample, over the whole batch, on the host: the solver reads three norms per
  // working row at every evaluation (one device-to-host copy) and decides there.
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<double> out_abs(B, inf), out_rel(B, inf);    // residuals of z_keep
  std::vector<double> last_abs(B, inf), last_rel(B, inf);  // latest measured residuals
  std::vector<int64_t> since(B, 0);     // eval where meeting began, 0 = not
  std::vector<int64_t> div_step(B, 0);  // eval of divergence, 0 = never
  std::vector<double> div_scale(B, 0);  // diverge * the starting scale
  std::vector<double> abs_tr, rel_tr;   // (S, B) row-major
  // The working batch: rows[i] is the batch index of working row i (all B, in order, until
  // a compaction); work_idx the same on the device once rows were dropped.
  std::vector<int64_t> rows(B);
  for (int64_t b = 0; b < B; ++b) rows[b] = b;
  torch::Tensor work_idx;  // undefined = all B, in order
  std::vector<torch::Tensor> done_idx, done_z, done_f;  // dropped rows: batch index, z, f(z)
  std::vector<uint8_t> live, moving;

  int64_t k = 0;
  while (k < o.max_iter()) {
    torch::Tensor fx = F(x);
    ++k;
    const int64_t n = x.size(0);
    // The solver's own arithmetic (norms, stop tests, the stepper's least squares) in full
    // precision even when f runs under mixed-precision autocast.
    util::NoAutocast full_precision;
    {
      torch::Tensor xd = x.detach(), fd = fx.detach();
      // (3, n) ||f(x) - x||, ||f(x)||, ||x|| per row, as float64 on the host.
      torch::Tensor norms = torch::stack({(fd - xd).norm(2, 1), fd.norm(2, 1), xd.norm(2, 1)})
                                .to(torch::kCPU, torch::kFloat64)
                                .contiguous();
      const double* abs = norms.data_ptr<double>();
      const double* fnorm = abs + n;
      const double* xnorm = fnorm + n;
      live.assign(n, 0);
      moving.assign(n, 0);
      const bool may_meet = k >= o.min_iter();
      for (int64_t i = 0; i < n; ++i) {
        const int64_t b = rows[i];
        const double rel = abs[i] / (fnorm[i] + kNormEps);
        last_abs[b] = abs[i];
        last_rel[b] = rel;
        if (k == 1) div_scale[b] = o.diverge() * std::max(std::max(xnorm[i], fnorm[i]), kNormEps);
        // Samples whose iterate still moves: not diverged, and not frozen after convergence.
        bool l = div_step[b] == 0 && !(o.freeze() && since[b] > 0);
        // diverged: a value is not finite, rel residual > diverge, or ||x|| > diverge * scale0
        // (comparisons with NaN are false, so a NaN residual fails the first test).
        if (l && !(std::isfinite(abs[i]) && std::isfinite(rel) && !(rel > o.diverge()) && !(xnorm[i] > div_scale[b]))) {
          div_step[b] = k;
          l = false;
        }
        if (l) {
          const double crit = o.stop_mode() == StopMode::Abs ? abs[i] : rel;
          since[b] = may_meet && crit < o.tol() ? (since[b] > 0 ? since[b] : k) : 0;
          out_abs[b] = abs[i];
          out_rel[b] = rel;
        }
        live[i] = l;
        moving[i] = l && !(o.freeze() && since[b] > 0);
      }
    }
    // A dropped sample's trace repeats its last residual (its frozen iterate's own).
    abs_tr.insert(abs_tr.end(), last_abs.begin(), last_abs.end());
    rel_tr.insert(rel_tr.end(), last_rel.begin(), last_rel.end());
    const auto n_live = std::count(live.begin(), live.end(), 1);
    if (n_live == n) {
      z_keep = x;
      f_keep = fx;
    } else if (n_live > 0) {
      auto m = mask_of(live);  // (n, 1)
      z_keep = torch::where(m, x, z_keep);
      f_keep = torch::where(m, fx, f_keep);
    }

    if (k == o.max_iter()) break;
    if (k % o.check_every() == 0) {
      std::vector<int64_t> go_on;  // positions in the working batch of rows that did not stop
      for (int64_t i = 0; i < n; ++i)
        if (since[rows[i]] == 0 && div_step[rows[i]] == 0) go_on.push_back(i);
      const int64_t left = int64_t(go_on.size());
      if (left == 0) break;
      if (compacting && left < n && double(n - left) >= o.compact() * double(n)) {
        std::vector<int64_t> gone, kept_rows;
        std::vector<uint8_t> kept_moving;
        for (int64_t i = 0, j = 0; i < n; ++i) {
          if (j < left && go_on[j] == i) {
            kept_rows.push_back(rows[i]);
            kept_moving.push_back(moving[i]);
            ++j;
          } else {
            gone.push_back(i);
          }
        }
        auto gone_t = index_of(gone), go_on_t = index_of(go_on);
        std::vector<int64_t> gone_rows;
        for (auto i : gone) gone_rows.push_back(rows[i]);
        done_idx.push_back(index_of(gone_rows));
        done_z.push_back(z_keep.index_select(0, gone_t));
        done_f.push_back(f_keep.index_select(0, gone_t));
        x = x.index_select(0, go_on_t);
        fx = fx.index_select(0, go_on_t);
        z_keep = z_keep.index_select(0, go_on_t);
        f_keep = f_keep.index_select(0, go_on_t);
        moving = kept_moving;
        stepper->keep(go_on_t);
        rows = kept_rows;
        work_idx = index_of(rows);
        f = row_map(work_idx);
      }
    }

    torch::Tensor next = stepper->step(x, fx);
    // A step that returns f(x) itself (undamped Picard) has nothing to replace.
    if (!next.is_same(fx)) next = torch::where(finite_rows(next.detach()), next, fx);
    const auto n_moving = std::count(moving.begin(), moving.end(), 1);
    if (n_moving == int64_t(moving.size())) {
      x = next;
    } else if (n_moving > 0) {
      x = torch::where(mask_of(moving), next, x);
    }
  }

  SolveResult r;
  torch::Tensor z_out = z_keep, f_out = f_keep;  // (B, D) once the dropped rows are back
  if (!done_idx.empty()) {
    done_idx.push_back(work_idx);
    done_z.push_back(z_keep);
    done_f.push_back(f_keep);
    auto idx = torch::cat(done_idx);
    z_out = torch::empty({B, D}, z_keep.options()).index_copy_(0, idx, torch::cat(done_z));
    f_out = torch::empty({B, D}, f_keep.options()).index_copy_(0, idx, torch::cat(done_f));
  }
  r.z = z_out.view(shape);
  r.fz = f_out.view(shape);
  if (!graph) r.z = r.z.detach(), r.fz = r.fz.detach();
  std::vector<int64_t> status(B), steps(B);
  for (int64_t b = 0; b < B; ++b) {
    const bool div = div_step[b] > 0, conv = since[b] > 0;
    status[b] = int64_t(div ? Status::Diverged : conv ? Status::Converged : Status::MaxIter);
    steps[b] = div ? div_step[b] : conv ? since[b] : k;
  }
  auto host = [&](std::vector<double>& v, std::vector<int64_t> sizes) {
    return torch::from_blob(v.data(), sizes, torch::kFloat64).to(device, false, /*copy=*/true);
  };
  r.status = index_of(status);
  r.steps = index_of(steps);
  r.abs_res = host(out_abs, {B});
  r.rel_res = host(out_rel, {B});
  r.abs_trace = host(abs_tr, {k, B});
  r.rel_trace = host(rel_tr, {k, B});
  r.fevals = k;
  r.row_evals = row_evals;
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
  // Upper bounds: the histories hold window / memory copies of the batch's state, and a
  // trace row per iteration is kept, so absurd values are refused before any allocation.
  if (o.max_iter() < 1 || o.max_iter() > kMaxIterations)
    bad("max_iter", std::to_string(o.max_iter()), "an integer in [1, " + std::to_string(kMaxIterations) + "]");
  if (o.min_iter() < 0 || o.min_iter() > o.max_iter())
    bad("min_iter", std::to_string(o.min_iter()), "an integer in [0, max_iter]");
  if (!(o.damping() > 0 && o.damping() <= 1))
    bad("damping", std::to_string(o.damping()), "a number in (0, 1]");
  if (o.window() < 1 || o.window() > kMaxHistory)
    bad("window", std::to_string(o.window()), "an integer in [1, " + std::to_string(kMaxHistory) + "]");
  if (o.memory() < 1 || o.memory() > kMaxHistory)
    bad("memory", std::to_string(o.memory()), "an integer in [1, " + std::to_string(kMaxHistory) + "]");
  if (!(o.beta() > 0 && o.beta() <= 1)) bad("beta", std::to_string(o.beta()), "a number in (0, 1]");
  if (!(o.ridge() >= 0)) bad("ridge", std::to_string(o.ridge()), "a number >= 0");
  if (!(o.diverge() > 1)) bad("diverge", std::to_string(o.diverge()), "a number > 1");
  if (o.check_every() < 1) bad("check_every", std::to_string(o.check_every()), "an integer >= 1");
  if (!(o.compact() >= 0 && o.compact() <= 1)) bad("compact", std::to_string(o.compact()), "a fraction in [0, 1]");
}

SolveResult solve(const Map& f, const torch::Tensor& z0, const SolverOptions& opts, const RowMap& rows) {
  torch::NoGradGuard no_grad;
  return run(f, z0, opts, /*graph=*/false, rows);
}

SolveResult unroll(const Map& f, const torch::Tensor& z0, const SolverOptions& opts) {
  TORCH_CHECK(opts.method() == Method::Picard,
              "unroll: only Picard iteration is recorded by autograd, got ", to_string(opts.method()));
  return run(f, z0, opts, /*graph=*/true, {});
}

}  // namespace eqt::solve
