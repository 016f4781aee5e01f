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

// The working batch: the samples still iterated, as rows of the caller's batch. Per-sample
// bookkeeping lives in (B,) vectors of the whole batch; gather / scatter move the working
// rows' entries in and out (cheap: B numbers, not B states).
struct WorkingRows {
  torch::Tensor idx;  // (n,) int64 batch index of each working row; undefined = all B, in order
  torch::Tensor gather(const torch::Tensor& full) const { return idx.defined() ? full.index_select(0, idx) : full; }
  torch::Tensor scatter(const torch::Tensor& full, const torch::Tensor& part) const {
    return idx.defined() ? full.index_copy(0, idx, part) : part;
  }
  torch::Tensor batch_index(int64_t B, const torch::TensorOptions& lopt) const {
    return idx.defined() ? idx : torch::arange(B, lopt);
  }
};

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
  WorkingRows work;
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
  auto dopt = torch::TensorOptions().dtype(torch::kFloat64).device(z0.device());
  auto lopt = torch::TensorOptions().dtype(torch::kInt64).device(z0.device());

  torch::Tensor x = graph ? z0.reshape({B, D}) : z0.detach().reshape({B, D}).clone();  // (n, D)
  torch::Tensor z_keep = x;                                      // (n, D) last good iterate
  torch::Tensor f_keep = x;                                      // (n, D) f(z_keep)
  // Whole batch, per sample:
  torch::Tensor out_abs = torch::full({B}, std::numeric_limits<double>::infinity(), dopt);
  torch::Tensor out_rel = out_abs.clone();           // (B,) residuals of z_keep
  torch::Tensor last_abs = out_abs, last_rel = out_rel;  // (B,) latest measured residuals
  torch::Tensor since = torch::zeros({B}, lopt);     // (B,) eval where meeting began, 0 = not
  torch::Tensor div_step = torch::zeros({B}, lopt);  // (B,) eval of divergence, 0 = never
  torch::Tensor scale0;                              // (B,) starting scale
  std::vector<torch::Tensor> abs_tr, rel_tr;
  std::vector<torch::Tensor> done_idx, done_z, done_f;  // dropped rows: batch index, z, f(z)

  int64_t k = 0;
  while (k < o.max_iter()) {
    torch::Tensor fx = F(x);
    ++k;
    // The solver's own arithmetic (norms, stop tests, the stepper's least squares) in full
    // precision even when f runs under mixed-precision autocast.
    util::NoAutocast full_precision;
    torch::Tensor xd = x.detach(), fd = fx.detach();
    torch::Tensor abs = (fd - xd).norm(2, 1).to(torch::kFloat64);  // (n,)
    torch::Tensor fnorm = fd.norm(2, 1).to(torch::kFloat64);
    torch::Tensor xnorm = xd.norm(2, 1).to(torch::kFloat64);
    torch::Tensor rel = abs / (fnorm + kNormEps);
    if (k == 1) scale0 = torch::maximum(xnorm, fnorm).clamp_min(kNormEps);  // all B rows at k = 1
    // A dropped sample's trace repeats its last residual (its frozen iterate's own).
    last_abs = work.scatter(last_abs, abs);
    last_rel = work.scatter(last_rel, rel);
    abs_tr.push_back(last_abs);
    rel_tr.push_back(last_rel);

    // Samples whose iterate still moves: not diverged, and not frozen after convergence.
    torch::Tensor w_since = work.gather(since), w_div = work.gather(div_step);  // (n,)
    torch::Tensor live = w_div.eq(0);
    if (o.freeze()) live = live & w_since.eq(0);
    torch::Tensor bad = live & (~torch::isfinite(abs) | ~torch::isfinite(rel) |
                                rel.gt(o.diverge()) | xnorm.gt(o.diverge() * work.gather(scale0)));
    w_div = torch::where(bad, torch::full_like(w_div, k), w_div);
    live = live & ~bad;

    torch::Tensor crit = o.stop_mode() == StopMode::Abs ? abs : rel;
    torch::Tensor meet = crit.lt(o.tol()) & torch::full_like(live, k >= o.min_iter());
    torch::Tensor started = torch::where(w_since.gt(0), w_since, torch::full_like(w_since, k));
    w_since = torch::where(live, torch::where(meet, started, torch::zeros_like(w_since)), w_since);
    z_keep = torch::where(live.unsqueeze(1), x, z_keep);
    f_keep = torch::where(live.unsqueeze(1), fx, f_keep);
    out_abs = work.scatter(out_abs, torch::where(live, abs, work.gather(out_abs)));
    out_rel = work.scatter(out_rel, torch::where(live, rel, work.gather(out_rel)));
    since = work.scatter(since, w_since);
    div_step = work.scatter(div_step, w_div);

    if (k == o.max_iter()) break;
    torch::Tensor moving = live;
    if (o.freeze()) moving = moving & w_since.eq(0);
    if (k % o.check_every() == 0) {
      torch::Tensor stopped = w_since.gt(0) | w_div.gt(0);  // (n,)
      if (!compacting) {
        if (stopped.all().item<bool>()) break;
      } else {
        // One host synchronisation per check, as for the plain test (how many rows are left);
        // a compaction adds one more, for the rows that go.
        torch::Tensor go_on = (~stopped).nonzero().squeeze(1);  // (n',) positions in the working batch
        const int64_t n = x.size(0), left = go_on.size(0);
        if (left == 0) break;
        if (left < n && double(n - left) >= o.compact() * double(n)) {
          torch::Tensor gone = stopped.nonzero().squeeze(1);
          torch::Tensor batch_idx = work.batch_index(B, lopt);
          done_idx.push_back(batch_idx.index_select(0, gone));
          done_z.push_back(z_keep.index_select(0, gone));
          done_f.push_back(f_keep.index_select(0, gone));
          x = x.index_select(0, go_on);
          fx = fx.index_select(0, go_on);
          z_keep = z_keep.index_select(0, go_on);
          f_keep = f_keep.index_select(0, go_on);
          moving = moving.index_select(0, go_on);
          stepper->keep(go_on);
          work.idx = batch_idx.index_select(0, go_on);
          f = row_map(work.idx);
        }
      }
    }

    torch::Tensor next = stepper->step(x, fx);
    next = torch::where(finite_rows(next.detach()), next, fx);
    x = torch::where(moving.unsqueeze(1), next, x);
  }

  SolveResult r;
  torch::Tensor z_out = z_keep, f_out = f_keep;  // (B, D) once the dropped rows are back
  if (!done_idx.empty()) {
    done_idx.push_back(work.idx);
    done_z.push_back(z_keep);
    done_f.push_back(f_keep);
    auto idx = torch::cat(done_idx);
    z_out = torch::empty({B, D}, z_keep.options()).index_copy_(0, idx, torch::cat(done_z));
    f_out = torch::empty({B, D}, f_keep.options()).index_copy_(0, idx, torch::cat(done_f));
  }
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
