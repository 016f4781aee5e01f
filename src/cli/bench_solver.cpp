// cli/bench_solver.cpp — `eqt bench solver`: solver cost and gradient memory, measured.
//
// Table 1: every solver on every problem, run until each sample's relative residual is below
// the problem's tolerance: f-evaluations, worst final residual, median wall time of 5 runs,
// and beside it the same number of bare evaluations z <- f(z) (no solver: the map's own
// cost), so us/eval - map us/eval is what the solver adds per evaluation (its bookkeeping,
// and Anderson's / Broyden's step).
// Table 2: on tanh-net, the extra peak bytes of one solve + backward for each gradient mode
// and iteration count, measured by the counting CPU allocator (never computed).
#include "cli/commands.h"
#include "cli/json_file.h"
#include "cli/solver_problems.h"

#include "eqt/grad/equilibrium.h"
#include "eqt/util/memory_meter.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

namespace eqt::cli {
namespace {

struct BenchSolverArgs {
  bool json = false;
  int64_t batch = 64, width = 256, hidden = 1024;
  std::vector<int64_t> mem_iters = {8, 32, 128};
  uint64_t seed = 0;
};

nlohmann::json solver_rows(const BenchSolverArgs& a) {
  std::vector<Problem> problems = {linear_problem(0.5, 8, 64, a.seed),
                                   linear_problem(0.95, 8, 64, a.seed),
                                   tanh_net_problem(a.batch, a.width, a.hidden, a.seed)};
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& p : problems) {
    for (auto m : {solve::Method::Picard, solve::Method::Anderson, solve::Method::Broyden}) {
      auto opts = solve::SolverOptions().method(m).tol(p.tol).max_iter(p.max_iter);
      solve::solve(p.f, p.z0, opts);  // warm-up (allocations, BLAS threads)
      solve::SolveResult r;
      std::vector<double> times;  // median of 5: the machine is shared and noisy
      for (int rep = 0; rep < 5; ++rep) {
        auto t0 = std::chrono::steady_clock::now();
        r = solve::solve(p.f, p.z0, opts);
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      auto median = [](std::vector<double> t) {
        std::nth_element(t.begin(), t.begin() + 2, t.end());
        return t[2];
      };
      const double ms = median(times);
      // The map alone, as many times as the solve evaluated it.
      std::vector<double> map_times;
      for (int rep = 0; rep < 5; ++rep) {
        torch::NoGradGuard no_grad;
        auto t0 = std::chrono::steady_clock::now();
        torch::Tensor z = p.z0;
        for (int64_t k = 0; k < r.fevals; ++k) z = p.f(z);
        map_times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      const double map_ms = median(map_times);
      rows.push_back({{"problem", p.name},
                      {"solver", solve::to_string(m)},
                      {"fevals", r.fevals},
                      {"residual", r.rel_res.max().item<double>()},
                      {"converged", r.all_converged()},
                      {"tol", p.tol},
                      {"ms", ms},
                      {"us_per_eval", 1000.0 * ms / double(r.fevals)},
                      {"map_us_per_eval", 1000.0 * map_ms / double(r.fevals)}});
    }
  }
  return rows;
}

nlohmann::json memory_rows(const BenchSolverArgs& a) {
  util::MemoryMeter::install();  // before the problem's tensors exist: everything is counted
  auto p = tanh_net_problem(a.batch, a.width, a.hidden, a.seed);
  nlohmann::json rows = nlohmann::json::array();
  for (auto mode : {grad::Mode::IFT, grad::Mode::Unrolled, grad::Mode::OneStep}) {
    for (int64_t iters : a.mem_iters) {
      // tol 0: exactly `iters` evaluations forward (and backward, for ift).
      auto fwd = solve::SolverOptions().tol(0.0).max_iter(iters);
      auto g = grad::GradOptions().mode(mode);
      g.backward().tol(0.0).max_iter(iters);
      for (auto& w : p.params) w.mutable_grad() = torch::Tensor();
      int64_t peak = util::measure_peak_bytes([&] {
        auto eq = grad::find_equilibrium(p.f, p.z0, fwd, g);
        eq.z.pow(2).mean().backward();
      });
      rows.push_back({{"mode", grad::to_string(mode)}, {"iters", iters}, {"peak_bytes", peak}});
    }
  }
  return rows;
}

void print_table(const nlohmann::json& out) {
  std::cout << fmt::format("{:<12} {:<9} {:>7} {:>11} {:>5} {:>9} {:>8} {:>12}\n", "problem", "solver", "fevals",
                           "residual", "conv", "ms", "us/eval", "map us/eval");
  for (const auto& r : out["solvers"])
    std::cout << fmt::format("{:<12} {:<9} {:>7} {:>11.3e} {:>5} {:>9.2f} {:>8.1f} {:>12.1f}\n",
                             r["problem"].get<std::string>(), r["solver"].get<std::string>(),
                             r["fevals"].get<int64_t>(), r["residual"].get<double>(),
                             r["converged"].get<bool>() ? "yes" : "no", r["ms"].get<double>(),
                             r["us_per_eval"].get<double>(), r["map_us_per_eval"].get<double>());
  std::cout << fmt::format("\n{:<10} {:>6} {:>14}   (tanh-net, solve + backward, extra peak)\n",
                           "gradient", "iters", "peak MiB");
  for (const auto& r : out["memory"])
    std::cout << fmt::format("{:<10} {:>6} {:>14.2f}\n", r["mode"].get<std::string>(),
                             r["iters"].get<int64_t>(), r["peak_bytes"].get<int64_t>() / 1048576.0);
}

}  // namespace

void register_bench(CLI::App& app, int& /*exit_code*/) {
  auto* bench = app.add_subcommand("bench", "Benchmarks that print measured figures");
  bench->require_subcommand(1);
  auto a = std::make_shared<BenchSolverArgs>();
  auto* cmd = bench->add_subcommand("solver", "Solver f-evaluations and time; gradient-mode peak memory");
  cmd->add_flag("--json", a->json, "Print exactly one JSON object on stdout");
  cmd->add_option("--batch", a->batch, "tanh-net batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--width", a->width, "tanh-net state width")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--hidden", a->hidden, "tanh-net hidden width")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--mem-iters", a->mem_iters, "Iteration counts for the memory table")
      ->capture_default_str()->delimiter(',')->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a->seed, "Random seed of the problems")->capture_default_str();
  cmd->callback([a] {
    nlohmann::json out;
    out["solvers"] = solver_rows(*a);
    out["memory"] = memory_rows(*a);
    print_result(out, a->json, print_table);
  });
  register_bench_generate(*bench);
  register_bench_train(*bench);
  register_bench_serve(*bench);
}

}  // namespace eqt::cli
