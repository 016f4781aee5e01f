// cli/sweep_report.h — a sweep's results as files: results.json (one row per finished
// run), results.md (per cell and family: mean ± sample standard deviation over seeds) and
// SVG plots (each `plot` metric against each numeric axis, one line per family; the
// internalisation curve per cell when the runs were evaluated per solver-step cap).
// What it is not: a statistics package (no tests of significance; the table gives n).
#pragma once

#include "cli/sweep_spec.h"

#include <string>

namespace eqt::cli {

// rows: the finished runs' records (see sweep_command.cpp); total: the runs in the spec.
// Writes DIR/results.json, DIR/results.md and DIR/*.svg (atomically, each).
void write_sweep_report(const SweepSpec& spec, const std::string& spec_path, const nlohmann::json& rows,
                        size_t total, const std::string& dir);

// "0.6240 ± 0.0120" (sample std, n - 1), "0.6240" for one value, "-" for none.
std::string mean_std(const std::vector<double>& v, int digits = 4);

}  // namespace eqt::cli
