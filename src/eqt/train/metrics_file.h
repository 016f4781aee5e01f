// eqt/train/metrics_file.h — the run's metrics.jsonl: one JSON object per line, each with
// its "step" (training lines, validation lines, collapse-watch alerts).
// What it is not: a reader for plots (cli/plot_command.cpp reads the lines it draws).
#pragma once

#include <cstdint>
#include <string>

namespace eqt::train {

// Before a resumed run appends: keeps the lines of steps <= step (what the checkpoint it
// resumes from had seen) and drops the rest — the lines a killed run wrote after its last
// checkpoint, which the resumed run writes again, and a line torn by the kill. Rewrites
// the file atomically; a missing file is left missing. Returns the lines dropped.
int64_t trim_metrics_after(const std::string& path, int64_t step);

}  // namespace eqt::train
