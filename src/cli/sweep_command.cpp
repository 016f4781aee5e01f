// cli/sweep_command.cpp — `eqt sweep SPEC.json --out DIR`: a grid of runs (sweep_spec.h),
// each trained and evaluated by this binary as a child process (`eqt train`, `eqt eval`),
// one after another or --jobs at a time, then summarised (sweep_report.h).
//
// Resumable: a run is finished when DIR/<run>/sweep_row.json exists (written atomically
// after its evaluation) and is skipped; a run with a checkpoint continues with
// `train --resume` (runs checkpoint every 250 steps unless the spec says otherwise); one
// without is started again. DIR/spec.json keeps the spec, and a different spec is refused,
// so results of two experiments never mix. A failed run is reported, the others go on, and
// the sweep exits non-zero; the next invocation retries it.
// Each run's record: every key of its `eqt eval --json`, the cell (family, axis values),
// seed, training wall seconds (summed over resumed attempts), peak RSS of training (the
// child's maximum resident set, over attempts), peak tensor memory of a training step
// (the counting allocator's, from metrics.jsonl), the training solve's mean iterations,
// and `by_solver_steps` when asked.
// What it is not: a cluster scheduler, or a tuner (the spec fixes every run's settings).
#include "cli/preset.h"
#include "cli/commands.h"
#include "cli/json_file.h"
#include "cli/sweep_report.h"
#include "cli/validators.h"

#include "eqt/io/folder_lock.h"
#include "eqt/io/text_file.h"
#include "eqt/models/family.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

extern char** environ;

namespace eqt::cli {
namespace {

namespace fs = std::filesystem;

struct SweepArgs {
  std::string spec, out;
  int jobs = 1, threads = 1;
  bool dry_run = false;
  std::string device = "cpu";
  std::vector<std::string> only;  // run-folder patterns (fnmatch); empty: every run
};

struct ChildResult {
  int code = -1;
  double seconds = 0;
  double max_rss_mb = 0;
};

// This binary with args, stdout and stderr appended to log; waits for it.
ChildResult run_child(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  std::string self = "/proc/self/exe", name = "eqt";
  argv.push_back(name.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  // The child's environment: this one, plus EQT_DIE_WITH_PARENT (main.cpp: the child gets
  // SIGINT when the sweep dies, so a killed sweep leaves no training behind: it checkpoints
  // and stops) and EQT_LOCK_WAIT_S (its run folder's lock may still be held for a moment by
  // the child of a sweep that was killed, saving its checkpoint).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (kv.rfind("EQT_DIE_WITH_PARENT=", 0) != 0 && kv.rfind("EQT_LOCK_WAIT_S=", 0) != 0) env_strings.push_back(kv);
  }
  env_strings.push_back("EQT_DIE_WITH_PARENT=" + std::to_string(getpid()));
  env_strings.push_back("EQT_LOCK_WAIT_S=60");
  std::vector<char*> envp;
  for (auto& kv : env_strings) envp.push_back(kv.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const int err = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) throw std::runtime_error("sweep: cannot start " + self + ": " + std::strerror(err));
  int status = 0;
  struct rusage ru {};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  ChildResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.max_rss_mb = double(ru.ru_maxrss) / 1024.0;  // KiB on Linux
  return r;
}

std::string duration(double s) {
  const int64_t t = int64_t(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

// From a run's metrics.jsonl: the largest "peak_mb" (the counting allocator's) and the
// mean of "solver_steps_mean" over the logged steps (the training solve's iterations); NaN
// where the log has none.
std::pair<double, double> training_figures(const std::string& metrics) {
  std::ifstream in(metrics);
  double peak = NAN, steps = 0;
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("peak_mb") && j["peak_mb"].is_number())
      peak = std::isnan(peak) ? j["peak_mb"].get<double>() : std::max(peak, j["peak_mb"].get<double>());
    if (j.contains("solver_steps_mean") && j["solver_steps_mean"].is_number()) {
      steps += j["solver_steps_mean"].get<double>();
      ++n;
    }
  }
  return {peak, n > 0 ? steps / double(n) : NAN};
}

// Trains (or resumes) and evaluates one run; returns its record. Throws naming the run and
// its log on a failure.
// eval.restarts.json kept small for the sweep's rows: the table, the halting prices and each
// signal's AUROC (the coverage curves stay in the run folder).
nlohmann::json restart_summary(const nlohmann::json& r) {
  nlohmann::json s;
  for (const char* k : {"depths", "restarts", "start_noise", "path_noise", "seed", "depth_restarts", "halting"})
    if (r.contains(k)) s[k] = r[k];
  s["confidence"] = nlohmann::json::array();
  for (const auto& c : r["confidence"]) {
    nlohmann::json x = {{"depth", c["depth"]}, {"answers", c["answers"]}, {"right", c["right"]}};
    for (const char* level : {"per_answer", "per_cell"})
      for (const auto& [name, sig] : c[level].items())
        x[level][name] = sig.is_object() ? sig["auroc"] : nlohmann::json(nullptr);
    s["confidence"].push_back(x);
  }
  return s;
}

// Whether a run of `family` gets the restart evaluation: asked for, and a loop state to
// restart (standard and eqt have none; their rows keep the plain evaluation).
bool wants_restarts(const SweepSpec& spec, const std::string& family) {
  return !spec.eval_restarts.empty() && models::find_family(family).has_state;
}

// The restart evaluation of a trained run (spec.eval_restarts), into row["restarts"].
void run_restarts(const SweepSpec& spec, const std::string& dir, const std::string& log, int threads,
                  const std::string& device, nlohmann::json& row) {
  std::vector<std::string> args = {"--threads", std::to_string(threads), "eval", "--run", dir, "--json", "--device", device};
  args.insert(args.end(), spec.eval_restarts.begin(), spec.eval_restarts.end());
  // --restarts makes eqt eval take the restart path (eval.restarts.json) whatever else is given.
  if (std::find(spec.eval_restarts.begin(), spec.eval_restarts.end(), "--restarts") == spec.eval_restarts.end())
    args.insert(args.end(), {"--restarts", "1"});
  auto rv = run_child(args, log);
  if (rv.code != 0)
    throw std::runtime_error(dir + ": eqt eval (restarts) exited " + std::to_string(rv.code) + " (see " + log + ")");
  row["restarts"] = restart_summary(read_results_file(dir + "/eval.restarts.json"));
  row["restarts"]["options"] = spec.eval_restarts;  // a later spec with other options evaluates again
}

nlohmann::json run_one(const SweepSpec& spec, const SweepRun& run, const std::string& out, int threads,
                       const std::string& device) {
  const std::string dir = out + "/" + run.dir, log = dir + "/log.txt", times = dir + "/sweep_time.json";
  if (fs::exists(dir + "/sweep_row.json") && wants_restarts(spec, run.family)) {  // trained and evaluated: the restart evaluation only
    auto row = read_results_file(dir + "/sweep_row.json");
    run_restarts(spec, dir, log, threads, device, row);
    io::write_text_file(dir + "/sweep_row.json", row.dump(2) + "\n");
    return row;
  }
  fs::create_directories(dir);
  const bool resume = fs::exists(dir + "/checkpoint.eqt");
  if (!resume) {  // an attempt killed before its first checkpoint starts over
    for (const char* f : {"metrics.jsonl", "config.json", "eval.json"}) fs::remove(dir + "/" + f);
    fs::remove(times);
  }
  nlohmann::json t = fs::exists(times) ? read_json_file(times) : nlohmann::json{{"seconds", 0.0}, {"max_rss_mb", 0.0}};
  const std::string th = std::to_string(threads);
  std::vector<std::string> args;
  if (resume) {
    args = {"--threads", th, "train", "--out", dir, "--resume", "--device", device};
  } else {
    io::write_text_file(dir + "/sweep_config.json", run.config.dump(2) + "\n");
    args = {"--threads", th,           "train",  "--model", run.family,         "--task", spec.task,
            "--config",  dir + "/sweep_config.json", "--seed", std::to_string(run.seed), "--out", dir, "--device", device};
  }
  auto fail = [&](const std::string& what, int code) {
    throw std::runtime_error(run.dir + ": " + what + " exited " + std::to_string(code) + " (see " + log + ")");
  };
  auto tr = run_child(args, log);
  t["seconds"] = t["seconds"].get<double>() + tr.seconds;
  t["max_rss_mb"] = std::max(t["max_rss_mb"].get<double>(), tr.max_rss_mb);
  io::write_text_file(times, t.dump() + "\n");
  if (tr.code != 0) fail("eqt train", tr.code);
  auto ev = run_child({"--threads", th, "eval", "--run", dir, "--json", "--device", device}, log);
  if (ev.code != 0) fail("eqt eval", ev.code);
  nlohmann::json row = read_results_file(dir + "/eval.json");
  if (!spec.eval_solver_steps.empty()) {
    std::string caps;
    for (const auto& c : spec.eval_solver_steps) caps += (caps.empty() ? "" : ",") + c;
    auto cv = run_child({"--threads", th, "eval", "--run", dir, "--json", "--solver-steps", caps, "--device", device}, log);
    if (cv.code != 0) fail("eqt eval --solver-steps", cv.code);
    row["by_solver_steps"] = read_results_file(dir + "/eval_by_solver_steps.json").at("by_solver_steps");
  }
  if (wants_restarts(spec, run.family)) run_restarts(spec, dir, log, threads, device, row);
  row["family"] = run.family;
  row["cell"] = run.cell;
  row["point"] = run.point;
  row["seed"] = run.seed;
  row["dir"] = run.dir;
  row["train_seconds"] = t["seconds"];
  row["peak_rss_mb"] = t["max_rss_mb"];
  const auto [peak, train_steps] = training_figures(dir + "/metrics.jsonl");
  if (std::isfinite(peak)) row["peak_tensor_mb"] = peak;
  if (std::isfinite(train_steps)) row["train_solver_steps"] = train_steps;
  io::write_text_file(dir + "/sweep_row.json", row.dump(2) + "\n");
  return row;
}

nlohmann::json preset_of(const std::string& family, const std::string& task) {
  return builtin_preset(family, task).value_or(nlohmann::json::object());
}

void run_sweep(const SweepArgs& a) {
  const auto spec_json = read_json_file(a.spec);
  const auto spec = parse_sweep_spec(spec_json, "sweep spec '" + a.spec + "'");
  auto runs = expand_sweep(spec, [&](const std::string& f) {
    auto c = preset_of(f, spec.task);
    // Long sweeps are interrupted: checkpoint often enough to lose little (results are unchanged by it).
    if (!c.contains("train") || !c["train"].contains("ckpt_every")) set_dotted(c, "train.ckpt_every", 250);
    return c;
  });
  if (!a.only.empty()) {
    // A subset of the grid (the README's main job runs three of the maze sweep's runs): a
    // run is kept when its folder family/cell/seed<k> matches a pattern. The folder and its
    // spec.json stay the sweep's, so a later full invocation adds the rest.
    std::vector<SweepRun> kept_runs;
    for (auto& r : runs)
      if (std::any_of(a.only.begin(), a.only.end(), [&](const std::string& p) { return fnmatch(p.c_str(), r.dir.c_str(), 0) == 0; }))
        kept_runs.push_back(std::move(r));
    if (kept_runs.empty())
      throw std::invalid_argument("--only matches none of the spec's runs (folders family/cell/seed<k>, e.g. '" +
                                  runs.front().dir + "')");
    runs = std::move(kept_runs);
  }
  if (a.dry_run) {
    for (size_t i = 0; i < runs.size(); ++i)
      std::printf("%3zu  %s\n     %s\n", i + 1, runs[i].dir.c_str(), runs[i].config.dump().c_str());
    return;
  }
  // One sweep per folder: a second one would train every run twice beside the first.
  io::FolderLock lock(a.out, "eqt sweep " + a.spec);
  const std::string kept = a.out + "/spec.json";
  if (fs::exists(kept)) {
    // What runs is the same when only the evaluation options or the description changed: a
    // finished sweep takes a new eval_restarts (its runs are evaluated, not trained again).
    auto training_of = [](nlohmann::json j) {
      j.erase("eval_restarts");
      j.erase("about");
      return j;
    };
    const auto old_spec = read_json_file(kept);
    if (training_of(old_spec) != training_of(spec_json))
      throw std::invalid_argument("--out '" + a.out + "' holds a sweep of another spec (" + kept +
                                  "); give a new --out, or the same spec to resume it");
    if (old_spec != spec_json) io::write_text_file(kept, spec_json.dump(2) + "\n");
  } else {
    io::write_text_file(kept, spec_json.dump(2) + "\n");
  }
  std::vector<size_t> todo;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto row = a.out + "/" + runs[i].dir + "/sweep_row.json";
    if (!fs::exists(row)) {
      todo.push_back(i);
    } else if (wants_restarts(spec, runs[i].family)) {
      const auto r = read_results_file(row);
      if (!r.contains("restarts") || r["restarts"].value("options", nlohmann::json()) != nlohmann::json(spec.eval_restarts))
        todo.push_back(i);
    }
  }
  if (a.only.empty())
    std::printf("eqt sweep: %s, %zu runs (%zu families x %zu cells x %zu seeds): ", a.spec.c_str(), runs.size(),
                spec.families.size(), runs.size() / spec.families.size() / spec.seeds.size(), spec.seeds.size());
  else
    std::printf("eqt sweep: %s, %zu runs (--only): ", a.spec.c_str(), runs.size());
  std::printf("%zu finished, %zu to run, %d at a time\n", runs.size() - todo.size(), todo.size(), a.jobs);
  std::fflush(stdout);

  std::mutex mu;  // guards the report, the counters and stdout
  auto report = [&] {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : runs) {
      const auto f = a.out + "/" + r.dir + "/sweep_row.json";
      if (fs::exists(f)) rows.push_back(read_results_file(f));
    }
    write_sweep_report(spec, a.spec, rows, runs.size(), a.out);
  };
  std::atomic<size_t> next{0};
  size_t done = runs.size() - todo.size(), finished_now = 0;
  std::vector<std::string> failures;
  const auto t0 = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < todo.size();) {
      const auto& run = runs[todo[k]];
      {
        std::lock_guard<std::mutex> lock(mu);
        std::printf("eqt sweep: start %s (log %s/%s/log.txt)\n", run.dir.c_str(), a.out.c_str(), run.dir.c_str());
        std::fflush(stdout);
      }
      const auto r0 = std::chrono::steady_clock::now();
      std::string summary;
      bool ok = true;
      try {
        auto row = run_one(spec, run, a.out, a.threads, a.device);
        for (const char* key : {spec.task == "text" ? "bits_per_byte" : "token_accuracy", "exact_accuracy", "solver_steps_mean"})
          if (row.contains(key) && row[key].is_number()) summary += fmt::format(" {} {:.4f}", key, row[key].get<double>());
      } catch (const std::exception& e) {
        ok = false;
        summary = std::string(" FAILED: ") + e.what();
      }
      std::lock_guard<std::mutex> lock(mu);
      if (ok) {
        ++done;
        ++finished_now;
      } else {
        failures.push_back(summary);
      }
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const size_t left = runs.size() - done - failures.size();
      const std::string eta = finished_now > 0 ? ", about " + duration(elapsed / double(finished_now) * double(left)) + " left"
                                               : "";
      std::printf("eqt sweep: [%zu/%zu] %s in %s:%s | elapsed %s%s\n", done, runs.size(), run.dir.c_str(),
                  duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count()).c_str(),
                  summary.c_str(), duration(elapsed).c_str(), eta.c_str());
      std::fflush(stdout);
      try {
        report();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "eqt sweep: report not written: %s\n", e.what());
      }
    }
  };
  std::vector<std::thread> pool;
  for (int j = 0; j < a.jobs; ++j) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  report();
  std::printf("eqt sweep: %zu of %zu runs finished; %s/results.md\n", done, runs.size(), a.out.c_str());
  if (!failures.empty())
    throw std::runtime_error(std::to_string(failures.size()) + " run(s) failed (run the sweep again to retry):" +
                             failures.front());
}

}  // namespace

void register_sweep(CLI::App& app, int& /*exit_code*/) {
  auto a = std::make_shared<SweepArgs>();
  auto* cmd = app.add_subcommand("sweep", "Train and evaluate a grid of runs from a spec; resumable; results.md");
  cmd->add_option("spec", a->spec, "sweep spec JSON (experiments/*.json; format in docs/results.md)")->required();
  cmd->add_option("--out", a->out, "sweep folder (runs, results.json, results.md, plots)")->required();
  cmd->add_option("--jobs", a->jobs, "runs at a time (each a child process)")->capture_default_str()->check(at_least(1));
  cmd->add_option("--threads", a->threads, "LibTorch threads of each run")->capture_default_str()->check(at_least(1));
  cmd->add_option("--device", a->device, "every run's device: cpu, cuda or cuda:N (precision: train.precision in the spec)")
      ->capture_default_str();
  cmd->add_flag("--dry-run", a->dry_run, "list the runs and their configs, run nothing");
  cmd->add_option("--only", a->only, "run only the runs whose folder family/cell/seed<k> matches one of these patterns "
                                     "('*' and '?' wildcards, e.g. 'looped/min_path=8/seed0' or '*/*/seed0')");
  cmd->callback([a] { run_sweep(*a); });
}

}  // namespace eqt::cli
