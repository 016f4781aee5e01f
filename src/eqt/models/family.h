// eqt/models/family.h — the one table of model families: one row per family with its name,
// what kind of closed loop it has, and everything that differs per family outside its class:
// its preset values, what a refinement cap means for it, the least parameter count a config
// describes, how an old saved config is brought up to date, and its constructor.
// Adding a family (docs/models.md, "Adding a family"): its class and row in a file of its
// own (models/<name>.cpp, declared in families.h), one line in family_table() (family.cpp),
// its config section if it has knobs (model_config.h), its presets (configs/), and its
// Python reference (tests/reference/eqt_ref.py). The CLI's choices, validation, plots and
// the tests read this table; none lists the families again.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace eqt::models {

struct ModelConfig;
class ModelImpl;

struct Family {
  const char* name;
  const char* summary;
  bool has_loop;    // a closed loop with a step count: solver steps in logs, caps at inference
  bool has_solver;  // a fixed-point solve (solver.*, grad.*): residual traces, backward solves
  bool has_energy;  // a learned energy: the refinement objective per step
  // A loop state a call can start from and returns (StartState, ModelOutput::state): what
  // deep supervision carries and the halting head reads.
  bool has_state;
  // Incremental decoding (forward_cached: generate, serve, bench generate); a family that
  // reads a whole puzzle at once (trm) has none.
  bool can_decode;
  // The family's preset: a JSON object applied over the config's defaults (ModelConfig::preset).
  const char* preset;
  // Refinement capped at n steps at inference (eval --solver-steps, --max-steps): what a step
  // is for this family (solver iterations, refinement steps, core iterations; nothing to cap).
  void (*cap_refinement)(ModelConfig& c, int64_t n);
  // Blocks of width block.d_model the config describes: a checkpoint whose file holds fewer
  // than vocab * d + blocks * (block's weights) parameters has damaged metadata.
  int64_t (*blocks)(const ModelConfig& c);
  // A saved config's JSON from an earlier version brought to today's meaning (null: nothing
  // to do); runs before the JSON is read, so old run folders keep loading.
  void (*upgrade_saved)(nlohmann::json& j);
  std::shared_ptr<ModelImpl> (*make)(const ModelConfig& c);
};

const std::vector<Family>& family_table();
// The row named `name`; throws std::invalid_argument naming the value and the choices.
const Family& find_family(const std::string& name);
std::vector<std::string> family_names();
std::string family_choices();  // "standard | looped | ..."
std::vector<std::string> state_families();     // the rows with has_state
std::vector<std::string> decoding_families();  // the rows with can_decode
// The family `eqt train` builds without --model, and the baseline others are compared with
// (bench train's parameter matching, compare).
const char* default_family();
const char* baseline_family();

}  // namespace eqt::models
