// cli/sweep_spec.h — what `eqt sweep SPEC.json` runs: the grid of runs a spec describes.
//
// A spec (experiments/*.json):
//   {"task": "parity",                                  // one task per sweep
//    "families": ["standard", "attractor", ...],
//    "seeds": [0, 1, 2],
//    "axes": [{"key": "task.length", "values": [16, 32, 64]}],   // cartesian product
//    (a value may also be {"value": 8, "set": {"model.looped.loops": 8, ...}}: several
//    fields at once, the key then only names the axis, e.g. "depth")
//    "set": {"train.steps": 1500},                       // every run (dotted keys)
//    "family_set": {"deq": {"train.lr": 0.001}},         // one family's runs
//    "eval_solver_steps": ["0", "1", "2", "4", "max"],   // optional: internalisation curve
//    "eval_restarts": ["--depth", "8x", "--restarts", "16"],  // optional: eqt eval's test-time
//    compute (issue 29) per run; added to a finished sweep, it evaluates the trained runs only
//    "plot": ["token_accuracy", "exact_accuracy"]}       // metrics plotted against each axis
// A run's config is the family's built-in preset (configs/<family>-<task>.json) with "set", then
// "family_set", then the cell's axis values merged over it (dotted keys name nested fields:
// "model.solver.eval_max_iter"). Runs live in DIR/<family>/<cell>/seed<k>, <cell> naming
// the axis values ("length=64", or "base" without axes).
// What it is not: a scheduler across machines; the runs of one sweep share one machine.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace eqt::cli {

// The most runs one sweep may hold (each a folder and a process; a grid above it is refused).
constexpr int64_t kMaxSweepRuns = 100000;

struct SweepAxis {
  std::string key;                    // dotted config path
  std::vector<nlohmann::json> values;  // plain values, or {"value", "set"} objects
  std::string short_name() const;     // the last component: "length"
};

struct SweepSpec {
  std::string task;
  std::vector<std::string> families;
  std::vector<int64_t> seeds;
  std::vector<SweepAxis> axes;
  nlohmann::json set = nlohmann::json::object();         // dotted key -> value
  nlohmann::json family_set = nlohmann::json::object();  // family -> {dotted key -> value}
  std::vector<std::string> eval_solver_steps;
  std::vector<std::string> eval_restarts;  // eqt eval options: depth x restarts per run
  std::vector<std::string> plot = {"token_accuracy", "exact_accuracy"};
};

struct SweepRun {
  std::string family;
  nlohmann::json point = nlohmann::json::object();  // axis key -> value of this cell
  std::string cell;                                 // "length=64,lr=0.001" or "base"
  int64_t seed = 0;
  std::string dir;                                  // relative: family/cell/seed<k>
  nlohmann::json config;                            // the full {model, train, task} config
};

// Throws std::invalid_argument naming `where`, the field and what is accepted.
SweepSpec parse_sweep_spec(const nlohmann::json& j, const std::string& where);

// Every run of the spec, seed by seed (seeds outermost, then the cells, then families: an
// interrupted sweep has every cell's first seed before any second one), with its config
// built from preset (the family's preset JSON, {} when it has none).
std::vector<SweepRun> expand_sweep(const SweepSpec& spec,
                                   const std::function<nlohmann::json(const std::string& family)>& preset);

// {"a.b": v} merged into j as j["a"]["b"] = v.
void set_dotted(nlohmann::json& j, const std::string& key, const nlohmann::json& v);

}  // namespace eqt::cli
