// cli/restart_report.h — `eqt eval`'s test-time compute options (issue 29): reading
// --depth (N supervision steps, or Nx: N times the run's trained depth) and --restarts,
// and reporting evaluate_restarts' result as a table and SVG plots beside the checkpoint.
// What it is not: the evaluation itself (eqt/train/restart_eval.h).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace eqt::cli {

// One --depth value: "N" (N >= 1 supervision steps) or "Nx" (N x trained, N >= 1);
// std::invalid_argument naming the value otherwise.
int64_t parse_depth(const std::string& value, int64_t trained);

// The depths scored: the values given, ascending; a single value D is the doubling ladder
// trained, 2 trained, 4 trained, ... below D, then D (just D when D <= trained).
std::vector<int64_t> depth_ladder(const std::vector<std::string>& values, int64_t trained);

// The restart counts scored: the values given, ascending; a single value B is 1, 4, 16, ...
// below B, then B.
std::vector<int64_t> restart_ladder(const std::vector<int64_t>& values);

// The depth x restarts table (exact accuracy per choice) and the AUROC of each signal, for
// a terminal.
void print_restart_report(const nlohmann::json& r);

// DIR/<stem>.depth.svg (exact accuracy vs depth per choice at the most restarts),
// <stem>.coverage.svg (accuracy vs coverage per signal at the deepest depth) and
// <stem>.halting.svg (accuracy vs function evaluations per halting rule); returns their paths.
std::vector<std::string> write_restart_plots(const nlohmann::json& r, const std::string& dir, const std::string& stem);

}  // namespace eqt::cli
