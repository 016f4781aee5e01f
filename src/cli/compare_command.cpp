// cli/compare_command.cpp — `eqt compare RUN...`: one table of held-out metrics for runs
// trained on the same task, read from each run's eval.json (written by `eqt eval`; measured
// here when missing), with the internalisation curve when eval_by_solver_steps.json exists,
// and the plots each run folder holds.
// What it is not: a statistics tool; one seed per run, no error bars.
#include "cli/commands.h"
#include "cli/json_file.h"

#include "eqt/io/text_file.h"
#include "eqt/train/evaluate.h"
#include "eqt/train/run_folder.h"

#include <cmath>
#include <filesystem>
#include <memory>

namespace eqt::cli {
namespace {

struct CompareArgs {
  std::vector<std::string> runs;
  int64_t batch = 256;
};

nlohmann::json metrics_of(const std::string& run, int64_t batch) {
  const std::string cached = run + "/eval.json";
  if (std::filesystem::exists(cached)) return read_results_file(cached);
  auto opened = train::open_run(run);
  auto r = train::evaluate(*opened.ck.model, *opened.task, batch);
  r["weights"] = opened.ema ? "ema" : "raw";
  io::write_text_file(cached, r.dump(2) + "\n");
  return r;
}

// A metric of an eval record: NaN where eval wrote null (JSON has no NaN: a diverged run's
// loss) or left it out; anything else but a number is an error naming the run.
double metric(const nlohmann::json& r, const char* key, const std::string& run) {
  if (!r.contains(key) || r[key].is_null()) return std::nan("");
  if (!r[key].is_number())
    throw std::invalid_argument("eqt compare: '" + run + "/eval.json' has " + key + " = " + r[key].dump() +
                                "; expected a number (delete the file to measure it again)");
  return r[key].get<double>();
}

void run_compare(const CompareArgs& a) {
  std::vector<nlohmann::json> rows;
  for (const auto& run : a.runs) rows.push_back(metrics_of(run, a.batch));
  const std::string task = rows[0].value("task", std::string("?"));
  for (size_t i = 1; i < rows.size(); ++i)
    if (rows[i].value("task", std::string("?")) != task)
      throw std::invalid_argument("eqt compare: run '" + a.runs[i] + "' is on task '" +
                                  rows[i].value("task", std::string("?")) + "', the first on '" + task +
                                  "'; compare runs of one task");
  const bool text = task == "text";
  std::printf("\n%-12s %10s %10s %12s %12s %12s  %s\n", "model", "params", "loss", text ? "bits/byte" : "token acc",
              text ? "perplexity" : "exact acc", "solver steps", "run");
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const auto& run = a.runs[i];
    std::printf("%-12s %10.0f %10.4f %12.4f %12.4f %12.2f  %s\n", r.value("model", std::string("?")).c_str(),
                metric(r, "params_total", run), metric(r, "loss", run),
                metric(r, text ? "bits_per_byte" : "token_accuracy", run),
                metric(r, text ? "perplexity" : "exact_accuracy", run), metric(r, "solver_steps_mean", run),
                run.c_str());
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string curve = a.runs[i] + "/eval_by_solver_steps.json";
    if (!std::filesystem::exists(curve)) continue;
    std::printf("\n%s, held-out %s per solver-step cap (equilibrium internalisation):\n",
                rows[i].value("model", std::string("?")).c_str(), text ? "bits/byte" : "token accuracy");
    const auto sweep = read_results_file(curve);  // kept alive: a range-for over a temporary's member dangles
    for (const auto& r : sweep.at("by_solver_steps"))
      std::printf("  cap %-4s %8.4f  (steps used %.2f)\n", r.value("solver_steps_cap", std::string("?")).c_str(),
                  metric(r, text ? "bits_per_byte" : "token_accuracy", a.runs[i]),
                  metric(r, "solver_steps_mean", a.runs[i]));
  }
  std::printf("\nplots:\n");
  for (const auto& run : a.runs)
    for (const char* name : {"loss", "solver_steps", "residual", "internalisation"})
      if (std::filesystem::exists(run + "/" + name + ".svg")) std::printf("  %s/%s.svg\n", run.c_str(), name);
}

}  // namespace

void register_compare(CLI::App& app, int& /*exit_code*/) {
  auto a = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand("compare", "Print one table of held-out metrics for several runs of one task");
  cmd->add_option("runs", a->runs, "run folders written by eqt train")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--batch", a->batch, "evaluation batch size when a run has no eval.json")->capture_default_str();
  cmd->callback([a] { run_compare(*a); });
}

}  // namespace eqt::cli
