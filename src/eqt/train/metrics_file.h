// eqt/train/metrics_file.h — the run's metrics.jsonl: one JSON object per line, each with
// its "step" (training lines, validation lines, collapse-watch alerts).
// What it is not: a reader for plots (cli/plot_command.cpp reads the lines it draws).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace eqt::train {

// Before a resumed run appends: keeps the lines of steps <= step (what the checkpoint it
// resumes from had seen) and drops the rest — the lines a killed run wrote after its last
// checkpoint, which the resumed run writes again, and a line torn by the kill. Rewrites
// the file atomically; a missing file is left missing. Returns the lines dropped.
int64_t trim_metrics_after(const std::string& path, int64_t step);

// One name per metric. Earlier versions wrote the mean solver steps as "mean_solver_steps"
// (eval.json, bench and sweep records) and "val_solver_steps" (validation lines); today
// every writer says "solver_steps_mean" / "val_solver_steps_mean". Readers of files that
// older runs wrote (plot, compare, sweep) pass each record through upgrade_metric_names,
// which renames the old keys in place, recursively (by_solver_steps rows); a record that
// holds both keeps today's value.
std::string current_metric_name(const std::string& name);
void upgrade_metric_names(nlohmann::json& record);

}  // namespace eqt::train
