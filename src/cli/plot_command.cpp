// cli/plot_command.cpp — `eqt plot DIR`: SVG plots of a training run, written into DIR.
//   loss.svg            training loss per logged step and validation loss (log scale)
//   solver_steps.svg    mean and max solver steps per logged step (closed-loop families)
//   residual.svg        relative residual versus solver iteration on one held-out batch,
//                       mean and worst sample (deq, attractor); eqt: the refinement objective
//                       per gradient step
//   internalisation.svg held-out accuracy (text: bits per byte) versus solver-step cap, from
//                       DIR/eval_by_solver_steps.json when `eqt eval --solver-steps` wrote it,
//                       else measured here on a few held-out batches.
// What it is not: an analysis tool; each plot is a view of data the run already has.
#include "cli/commands.h"
#include "cli/json_file.h"

#include "eqt/io/json_text.h"
#include "eqt/io/svg_plot.h"
#include "eqt/io/text_file.h"
#include "eqt/models/family.h"
#include "eqt/train/evaluate.h"
#include "eqt/train/run_folder.h"

#include <filesystem>
#include <fstream>
#include <memory>

namespace eqt::cli {
namespace {

struct PlotArgs {
  std::string run;
  std::vector<std::string> caps = {"0", "1", "2", "4", "max"};
  int64_t batch = 64;
  int64_t max_batches = 4;
};

// Every JSON line of metrics.jsonl; errors name the file and line.
std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("no metrics file '" + path + "' (is --run a folder written by eqt train?)");
  std::vector<nlohmann::json> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    out.push_back(io::parse_json(line, path + ":" + std::to_string(n)));
    train::upgrade_metric_names(out.back());
  }
  return out;
}

// (step, value) of every metrics line that has `key`.
io::Series column(const std::vector<nlohmann::json>& rows, const std::string& key, const std::string& name) {
  io::Series s{name, {}, {}};
  for (const auto& r : rows)
    if (r.contains(key) && r[key].is_number()) {
      s.x.push_back(r["step"].get<double>());
      s.y.push_back(r[key].get<double>());
    }
  return s;
}

void save(const std::string& path, const std::vector<io::Series>& series, const io::PlotOptions& o) {
  io::write_text_file(path, io::svg_line_plot(series, o));
  std::printf("wrote %s\n", path.c_str());
}

// Mean and max over the batch of an (S, B) trace, one point per step.
std::vector<io::Series> trace_series(const torch::Tensor& trace, const std::string& what) {
  auto t = trace.to(torch::kDouble);
  io::Series mean{"mean " + what, {}, {}}, worst{"worst sample", {}, {}};
  for (int64_t s = 0; s < t.size(0); ++s) {
    mean.x.push_back(double(s + 1));
    worst.x.push_back(double(s + 1));
    mean.y.push_back(t[s].mean().item<double>());
    worst.y.push_back(t[s].max().item<double>());
  }
  return {mean, worst};
}

void run_plot(const PlotArgs& a) {
  const std::string dir = a.run;
  const auto rows = read_metrics(dir + "/metrics.jsonl");
  auto run = train::open_run(dir);  // EMA weights when kept: what eqt eval measures
  auto& model = *run.ck.model;
  const auto& task = run.task;
  const auto family = model.config().family;
  const auto& traits = models::find_family(family);
  const std::string title = family + " on " + task->name();

  save(dir + "/loss.svg", {column(rows, "loss", "train"), column(rows, "val_loss", "validation")},
       {"loss: " + title, "step", "cross-entropy (nats)", true});
  if (traits.has_loop)
    save(dir + "/solver_steps.svg",
         {column(rows, "solver_steps_mean", "mean"), column(rows, "solver_steps_max", "max")},
         {"solver steps while training: " + title, "step", "steps per forward", false});

  if (traits.has_solver || traits.has_energy) {
    torch::NoGradGuard ng;
    model.eval();
    auto batch = task->eval_batches(a.batch).front();
    auto out = model.forward(batch.tokens);
    if (traits.has_energy && out.stats.energy_trace.defined())
      save(dir + "/residual.svg", trace_series(out.stats.energy_trace, "objective"),
           {"refinement objective (first refined layer): " + title, "gradient step", "E(h) + |h - f|^2 / 2 gamma",
            false});
    else if (out.stats.residual_trace.defined())
      save(dir + "/residual.svg", trace_series(out.stats.residual_trace, "residual"),
           {"residual vs iteration: " + title, "solver iteration", "||f(z) - z|| / ||f(z)||", true});
  }
  if (!traits.has_loop) return;  // nothing to cap

  nlohmann::json by;
  const std::string cached = dir + "/eval_by_solver_steps.json";
  if (std::filesystem::exists(cached)) {
    const auto sweep = read_results_file(cached);
    if (!sweep.contains("by_solver_steps") || !sweep["by_solver_steps"].is_array())
      throw std::invalid_argument("'" + cached + "' has no by_solver_steps array (delete it to measure again)");
    by = sweep["by_solver_steps"];
  } else {
    std::printf("measuring the internalisation curve on %lld held-out batches of %lld (caps", (long long)a.max_batches,
                (long long)a.batch);
    for (const auto& c : a.caps) std::printf(" %s", c.c_str());
    std::printf(")\n");
    by = train::evaluate_by_caps(model, *task, a.caps, a.batch, a.max_batches).at("by_solver_steps");
  }
  // x = solver steps actually used under each cap, so "max" lands where the model stops.
  const bool text = task->name() == "text";
  io::Series tok{text ? "bits per byte" : "token accuracy", {}, {}, true}, ex{"exact accuracy", {}, {}, true};
  for (const auto& r : by) {
    tok.x.push_back(r["solver_steps_mean"].get<double>());
    ex.x.push_back(r["solver_steps_mean"].get<double>());
    tok.y.push_back(r[text ? "bits_per_byte" : "token_accuracy"].get<double>());
    ex.y.push_back(r["exact_accuracy"].get<double>());
  }
  std::vector<io::Series> curve = {tok};
  if (!text) curve.push_back(ex);
  save(dir + "/internalisation.svg", curve,
       {"held-out metric vs solver-step cap: " + title, "mean solver steps used (caps 0, 1, 2, 4, ..., max)",
        text ? "bits per byte" : "accuracy", false});
}

}  // namespace

void register_plot(CLI::App& app, int& /*exit_code*/) {
  auto a = std::make_shared<PlotArgs>();
  auto* cmd = app.add_subcommand("plot", "Write SVG plots of a run (loss, solver steps, residual, internalisation)");
  cmd->add_option("run", a->run, "run folder written by eqt train")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--solver-steps", a->caps, "caps of the internalisation curve when eval has not measured it")
      ->delimiter(',')->capture_default_str();
  cmd->add_option("--batch", a->batch, "held-out batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-batches", a->max_batches, "held-out batches per cap (0: all)")->capture_default_str();
  cmd->callback([a] { run_plot(*a); });
}

}  // namespace eqt::cli
