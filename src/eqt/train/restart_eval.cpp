// eqt/train/restart_eval.cpp — see restart_eval.h.
#include "eqt/train/restart_eval.h"

#include "eqt/models/family.h"
#include "eqt/train/confidence.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>

namespace eqt::train {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

bool ascending_positive(const std::vector<int64_t>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] < 1 || (i > 0 && v[i] <= v[i - 1])) return false;
  return !v.empty();
}

std::string list(const std::vector<int64_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

// Sums over puzzles of one (depth, breadth) cell of the table.
struct Cell {
  double puzzles = 0, valid = 0;
  double first_exact = 0, first_hits = 0;
  double res_exact = 0, res_hits = 0, logit_exact = 0, logit_hits = 0, vote_exact = 0, vote_hits = 0;
  double pass = 0, oracle_hits = 0, evals = 0;
};

// Restart 0's signals at one depth, over every puzzle (and every scored cell) so far.
struct Signals {
  std::vector<bool> right;
  std::vector<double> residual, logit_change, q_halt, min_prob;  // confidence = -score for the first two
  std::vector<bool> cell_right;
  std::vector<double> cell_state_change, cell_logit_change, cell_max_prob;
};

// Restart 0's trajectory: one value per (step, puzzle).
struct Trajectory {
  std::vector<std::vector<double>> exact, hits, residual, logit_change, q_halt, evals;
  std::vector<double> valid;  // per puzzle
};

std::vector<double> to_vec(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

nlohmann::json num(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

nlohmann::json signal_report(const std::vector<double>& score, const std::vector<bool>& right, bool lower_is_surer,
                             int64_t points) {
  if (score.empty()) return nullptr;
  std::vector<double> conf(score);
  if (lower_is_surer)
    for (auto& c : conf) c = -c;
  return {{"auroc", num(auroc(conf, right))}, {"coverage", coverage_curve(conf, right, points)}};
}

// The q-quantile of the finite values of v (NaN when none).
double quantile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  return v[size_t(std::lround(q * double(v.size() - 1)))];
}

// Accuracy and mean evaluations when each puzzle stops at the first step where stop(d, p).
nlohmann::json halting_point(const Trajectory& t, const std::function<bool(size_t, size_t)>& stop) {
  const size_t D = t.exact.size(), P = t.valid.size();
  double exact = 0, hits = 0, valid = 0, evals = 0, steps = 0;
  for (size_t p = 0; p < P; ++p) {
    size_t d = 0;
    while (d + 1 < D && !stop(d, p)) ++d;
    exact += t.exact[d][p];
    hits += t.hits[d][p];
    valid += t.valid[p];
    evals += t.evals[d][p];
    steps += double(d + 1);
  }
  const double n = double(std::max<size_t>(P, 1));
  return {{"exact_accuracy", exact / n}, {"token_accuracy", hits / std::max(valid, 1.0)},
          {"evals_mean", evals / n}, {"depth_mean", steps / n}};
}

}  // namespace

void RestartEval::validate() const {
  if (!ascending_positive(depths))
    throw std::invalid_argument("depths '" + list(depths) + "' are invalid; expected whole numbers >= 1, ascending");
  if (!ascending_positive(breadths))
    throw std::invalid_argument("restart counts '" + list(breadths) + "' are invalid; expected whole numbers >= 1, ascending");
  if (!(start_noise >= 0))
    throw std::invalid_argument("start noise " + std::to_string(start_noise) + " is invalid; expected >= 0");
  if (!(path_noise >= 0))
    throw std::invalid_argument("path noise " + std::to_string(path_noise) + " is invalid; expected >= 0");
  if (coverage_points < 1)
    throw std::invalid_argument("coverage points " + std::to_string(coverage_points) + " is invalid; expected >= 1");
}

uint64_t restart_seed(uint64_t seed, int64_t puzzle, int64_t restart, int64_t step) {
  uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ uint64_t(puzzle));
  h = splitmix64(h ^ uint64_t(restart));
  return splitmix64(h ^ uint64_t(step));
}

std::vector<uint64_t> RestartRows::seeds(int64_t step) const {
  std::vector<uint64_t> s(static_cast<size_t>(puzzles * restarts));
  for (int64_t p = 0; p < puzzles; ++p)
    for (int64_t r = 0; r < restarts; ++r) s[size_t(p * restarts + r)] = restart_seed(seed, first_puzzle + p, r, step);
  return s;
}

models::ForwardOptions RestartRows::step(const models::ModelImpl& model, const models::ForwardOptions& base,
                                         int64_t step, const torch::Tensor& state) const {
  models::ForwardOptions o = base;
  if (step > 0) {
    if (!state.defined())
      throw std::invalid_argument("depth " + std::to_string(step + 1) + ": this " + model.config().family +
                                  " forward returned no loop state (a cap of 0?); expected depth 1");
    o.start = models::StartState::continue_from(state, path_noise, noisy() ? seeds(step) : std::vector<uint64_t>{});
  } else {
    if (restarts > 1) {
      const int64_t N = puzzles * restarts;
      o.start.policy = models::StartState::Policy::Random;
      o.start.scale = start_noise;
      o.start.row_scale = (torch::arange(N, torch::kLong) % restarts).gt(0).to(torch::kFloat32);  // (N,) restart 0: 0
    }
    o.start.path_noise = path_noise;
    if (noisy()) o.start.seeds = seeds(0);
  }
  if (restarts > 1) {
    // A batched solve runs until its last row stops, moving rows that already met the
    // tolerance; freezing them makes each restart's solve its own (solver families, trm's
    // inner solve). One restart keeps the caller's setting: the plain evaluation's numbers.
    o.solver = base.solver.value_or(model.config().solver);
    o.solver->freeze = true;
  }
  return o;
}

nlohmann::json evaluate_restarts(models::ModelImpl& model, const data::Task& task, int64_t batch,
                                 int64_t max_batches, const models::ForwardOptions& opts, const RestartEval& re) {
  re.validate();
  if (!opts.start.is_default())
    throw std::invalid_argument("evaluate_restarts: the restarts set the start state; expected the default start");
  const int64_t Bm = re.breadths.back(), Dm = re.depths.back();
  const auto& family = models::find_family(model.config().family);
  if (Dm > 1 && !family.has_state)
    throw std::invalid_argument("depth " + std::to_string(Dm) + ": family '" + family.name +
                                "' has no loop state to continue from; expected depth 1");
  if (Bm > 1 && !family.has_state)
    throw std::invalid_argument(std::to_string(Bm) + " restarts: family '" + family.name +
                                "' has no loop state to start elsewhere; expected 1 restart");
  torch::NoGradGuard ng;
  struct EvalMode {  // eval mode for the evaluation, the caller's mode back on any exit
    models::ModelImpl& m;
    bool was;
    explicit EvalMode(models::ModelImpl& x) : m(x), was(x.is_training()) { m.eval(); }
    ~EvalMode() { if (was) m.train(); }
  } mode(model);
  const torch::Device device = model.parameters().front().device();

  std::map<std::pair<int64_t, int64_t>, Cell> cells;  // (depth, breadth)
  std::map<int64_t, Signals> signals;                 // depth
  Trajectory traj;
  traj.exact.resize(size_t(Dm));
  traj.hits.resize(size_t(Dm));
  traj.residual.resize(size_t(Dm));
  traj.logit_change.resize(size_t(Dm));
  traj.q_halt.resize(size_t(Dm));
  traj.evals.resize(size_t(Dm));
  nlohmann::json rows = nlohmann::json::array();
  bool has_q = false;

  auto batches = task.eval_batches(batch);
  if (max_batches > 0 && int64_t(batches.size()) > max_batches) batches.resize(size_t(max_batches));
  int64_t p0 = 0;  // the global index of the batch's first puzzle
  for (const auto& b : batches) {
    const int64_t P = b.tokens.size(0), R = P * Bm;
    auto tok = b.tokens.repeat_interleave(Bm, 0).to(device);                    // (R, T) row p Bm + r
    auto tgt = b.targets.repeat_interleave(Bm, 0);                              // (R, T) on the CPU
    auto valid = tgt.ne(data::kIgnore);                                        // (R, T)
    auto valid_n = valid.sum(1).to(torch::kFloat64);                           // (R,)
    RestartRows layout;  // rows p Bm + r of this batch: their starts, seeds and solver
    layout.puzzles = P;
    layout.restarts = Bm;
    layout.first_puzzle = p0;
    layout.start_noise = re.start_noise;
    layout.path_noise = re.path_noise;
    layout.seed = re.seed;

    models::ModelOutput out;
    torch::Tensor prev_logits, prev_state;       // (R, T, V) on the CPU, (R, T, S) on the model's device: the previous step
    std::deque<torch::Tensor> changes;           // (R,) the last <= 3 steps' logit change per row
    auto evals = torch::zeros({R}, torch::kFloat64);  // (R,) loop steps so far
    for (int64_t d = 1; d <= Dm; ++d) {
      out = model.forward(tok, layout.step(model, opts, d - 1, out.state));
      auto logits = out.logits.to(torch::kCPU, torch::kFloat32);               // (R, T, V)
      auto pred = logits.argmax(-1);                                           // (R, T)
      auto hit = pred.eq(tgt) & valid;                                         // (R, T)
      auto hits = hit.sum(1).to(torch::kFloat64);                              // (R,)
      auto exact = (hit | ~valid).all(1);                                      // (R,)
      torch::Tensor cell_logit;                                                // (R, T) change from the last step
      if (prev_logits.defined()) {
        cell_logit = (logits - prev_logits).norm(2, -1);
        changes.push_back((cell_logit * valid).sum(1).to(torch::kFloat64) / valid_n.clamp_min(1));
        if (changes.size() > 3) changes.pop_front();
      }
      auto logit_score = changes.empty() ? torch::full({R}, kNaN, torch::kFloat64)
                                         : torch::stack(std::vector<torch::Tensor>(changes.begin(), changes.end())).mean(0);
      auto last_change = changes.empty() ? torch::full({R}, kNaN, torch::kFloat64) : changes.back();
      auto residual = out.stats.residual.defined() ? out.stats.residual.to(torch::kCPU, torch::kFloat64)
                                                   : torch::full({R}, kNaN, torch::kFloat64);
      auto q = out.q_halt.defined() ? out.q_halt.to(torch::kCPU, torch::kFloat64) : torch::Tensor();
      has_q = has_q || q.defined();
      evals += out.stats.steps.defined() ? out.stats.steps.to(torch::kCPU, torch::kFloat64) : torch::ones({R}, torch::kFloat64);

      // Restart 0's trajectory (rows 0, Bm, 2 Bm, ...).
      auto r0 = torch::arange(0, R, Bm, torch::kLong);
      auto at0 = [&](const torch::Tensor& t) { return to_vec(t.index_select(0, r0)); };
      auto append = [](std::vector<double>& to, const std::vector<double>& v) { to.insert(to.end(), v.begin(), v.end()); };
      const size_t di = size_t(d - 1);
      append(traj.exact[di], at0(exact));
      append(traj.hits[di], at0(hits));
      append(traj.residual[di], at0(residual));
      append(traj.logit_change[di], at0(last_change));
      append(traj.q_halt[di], q.defined() ? at0(q) : std::vector<double>(size_t(P), kNaN));
      append(traj.evals[di], at0(evals));
      if (d == 1) append(traj.valid, at0(valid_n));

      if (std::find(re.depths.begin(), re.depths.end(), d) != re.depths.end()) {
        // What only a scored depth needs: the max-probabilities and the state's change (on
        // the state's device; the states stay there between steps).
        auto max_prob = logits.softmax(-1).amax(-1);                                                 // (R, T)
        auto min_prob = torch::where(valid, max_prob, torch::ones_like(max_prob)).amin(1).to(torch::kFloat64);  // (R,)
        torch::Tensor cell_state;                                                                   // (R, T)
        if (prev_state.defined() && out.state.defined())
          cell_state = ((out.state - prev_state).norm(2, -1) / prev_state.norm(2, -1).clamp_min(1e-12))
                           .to(torch::kCPU, torch::kFloat32);
        auto E = exact.view({P, Bm}).to(torch::kFloat64), H = hits.view({P, Bm});
        auto Vn = valid_n.view({P, Bm}).select(1, 0);                            // (P,)
        auto Sres = residual.view({P, Bm}), Slog = logit_score.view({P, Bm});
        auto answers = torch::where(valid, pred, torch::full_like(pred, -1)).view({P, Bm, -1});  // (P, Bm, T)
        auto Ev = evals.view({P, Bm});
        for (int64_t bb : re.breadths) {
          auto e = E.slice(1, 0, bb), h = H.slice(1, 0, bb);
          auto pick = [&](const torch::Tensor& idx, double& ex, double& hi) {
            ex += e.gather(1, idx.unsqueeze(1)).sum().item<double>();
            hi += h.gather(1, idx.unsqueeze(1)).sum().item<double>();
          };
          auto& c = cells[{d, bb}];
          c.puzzles += double(P);
          c.valid += Vn.sum().item<double>();
          c.first_exact += E.select(1, 0).sum().item<double>();
          c.first_hits += H.select(1, 0).sum().item<double>();
          pick(most_converged(Sres.slice(1, 0, bb)), c.res_exact, c.res_hits);
          pick(most_converged(Slog.slice(1, 0, bb)), c.logit_exact, c.logit_hits);
          pick(majority_vote(answers.slice(1, 0, bb)), c.vote_exact, c.vote_hits);
          c.pass += e.amax(1).sum().item<double>();
          c.oracle_hits += h.amax(1).sum().item<double>();
          c.evals += Ev.slice(1, 0, bb).sum().item<double>() / double(bb);
        }
        auto& s = signals[d];
        for (auto x : at0(exact)) s.right.push_back(x > 0.5);
        append(s.residual, at0(residual));
        append(s.logit_change, at0(logit_score));
        append(s.q_halt, q.defined() ? at0(q) : std::vector<double>(size_t(P), kNaN));
        append(s.min_prob, at0(min_prob));
        auto v0 = valid.index_select(0, r0);  // (P, T) restart 0's scored cells
        auto cells_of = [&](const torch::Tensor& t) { return to_vec(t.index_select(0, r0).masked_select(v0)); };
        for (auto x : cells_of(hit)) s.cell_right.push_back(x > 0.5);
        append(s.cell_max_prob, cells_of(max_prob));
        if (cell_logit.defined()) append(s.cell_logit_change, cells_of(cell_logit));
        if (cell_state.defined()) append(s.cell_state_change, cells_of(cell_state));
        if (re.keep_rows) {
          auto ex = to_vec(exact), hv = to_vec(hits), rv = to_vec(residual), lv = to_vec(logit_score);
          for (int64_t i = 0; i < R; ++i)
            rows.push_back({{"depth", d}, {"puzzle", p0 + i / Bm}, {"restart", i % Bm}, {"exact", ex[size_t(i)] > 0.5},
                            {"token_hits", hv[size_t(i)]}, {"residual", num(rv[size_t(i)])},
                            {"logit_change", num(lv[size_t(i)])}});
        }
      }
      prev_logits = logits;
      prev_state = out.state;
    }
    p0 += P;
  }
  nlohmann::json table = nlohmann::json::array();
  for (const auto& [key, c] : cells) {
    const double n = std::max(c.puzzles, 1.0), v = std::max(c.valid, 1.0);
    const bool has_logit = key.first > 1;
    table.push_back({{"depth", key.first},
                     {"restarts", key.second},
                     {"first_exact", c.first_exact / n},
                     {"top1_residual_exact", c.res_exact / n},
                     {"top1_logit_change_exact", has_logit ? num(c.logit_exact / n) : nlohmann::json(nullptr)},
                     {"majority_exact", c.vote_exact / n},
                     {"pass_at_restarts", c.pass / n},
                     {"first_token_accuracy", c.first_hits / v},
                     {"top1_residual_token_accuracy", c.res_hits / v},
                     {"top1_logit_change_token_accuracy", has_logit ? num(c.logit_hits / v) : nlohmann::json(nullptr)},
                     {"majority_token_accuracy", c.vote_hits / v},
                     {"oracle_token_accuracy", c.oracle_hits / v},
                     {"evals_mean", c.evals / n}});
  }
  nlohmann::json confidence = nlohmann::json::array();
  const auto pts = re.coverage_points;
  for (const auto& [d, s] : signals) {
    nlohmann::json per_answer = {{"residual", signal_report(s.residual, s.right, true, pts)},
                                 {"min_prob", signal_report(s.min_prob, s.right, false, pts)}};
    if (d > 1) per_answer["logit_change"] = signal_report(s.logit_change, s.right, true, pts);
    if (has_q) per_answer["q_halt"] = signal_report(s.q_halt, s.right, false, pts);
    nlohmann::json per_cell = {{"max_prob", signal_report(s.cell_max_prob, s.cell_right, false, pts)}};
    if (!s.cell_logit_change.empty())
      per_cell["logit_change"] = signal_report(s.cell_logit_change, s.cell_right, true, pts);
    if (!s.cell_state_change.empty())
      per_cell["state_change"] = signal_report(s.cell_state_change, s.cell_right, true, pts);
    double right = 0;
    for (bool r : s.right) right += r ? 1 : 0;
    confidence.push_back({{"depth", d}, {"answers", s.right.size()}, {"right", right}, {"cells", s.cell_right.size()},
                          {"per_answer", per_answer}, {"per_cell", per_cell}});
  }
  // Halting, priced on restart 0's trajectory.
  nlohmann::json halting = nlohmann::json::array();
  for (int64_t d = 1; d <= Dm; ++d) {
    auto h = halting_point(traj, [d](size_t step, size_t) { return int64_t(step + 1) >= d; });
    h["rule"] = "fixed";
    h["depth"] = d;
    halting.push_back(h);
  }
  auto flat = [&](const std::vector<std::vector<double>>& v) {
    std::vector<double> all;
    for (const auto& x : v) all.insert(all.end(), x.begin(), x.end());
    return all;
  };
  for (const auto& [name, sig] : {std::pair<std::string, const std::vector<std::vector<double>>*>{"residual", &traj.residual},
                                  {"logit_change", &traj.logit_change}}) {
    const auto all = flat(*sig);
    for (double q : {0.05, 0.1, 0.25, 0.5, 0.75}) {
      const double tol = quantile(all, q);
      if (!std::isfinite(tol)) continue;
      auto h = halting_point(traj, [sig, tol](size_t step, size_t p) { return (*sig)[step][p] < tol; });
      h["rule"] = name;
      h["tol"] = tol;
      h["tol_quantile"] = q;
      halting.push_back(h);
    }
  }
  if (has_q) {
    auto h = halting_point(traj, [&](size_t step, size_t p) { return traj.q_halt[step][p] > 0; });
    h["rule"] = "learned";
    halting.push_back(h);
  }
  nlohmann::json r = {{"task", task.name()},
                      {"model", model.config().family},
                      {"params_total", model.param_total()},
                      {"puzzles", p0},
                      {"depths", re.depths},
                      {"restarts", re.breadths},
                      {"start_noise", re.start_noise},
                      {"path_noise", re.path_noise},
                      {"seed", re.seed},
                      {"depth_restarts", table},
                      {"confidence", confidence},
                      {"halting", halting}};
  if (re.keep_rows) r["rows"] = rows;
  return r;
}

}  // namespace eqt::train
