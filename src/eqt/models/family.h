// eqt/models/family.h — the one table of model families: each family's name, what kind of
// closed loop it has, and the preset values that differ from the config's defaults.
// The CLI's choices, plots and the bench tests read this table. Adding a family today also
// takes: a class in families.h and its .cpp, a case in the factory (model.cpp), its fields
// in ModelConfig (model_config.h), a case in min_params (train/checkpoint.cpp), presets in
// configs/ and the Python reference (tests/reference/); issue 27 moves those into the row.
// What it is not: the factory. It sits below the config (validation reads it) and knows
// no model class; make_model (model.cpp) maps a row's kind to its class.
#pragma once

#include <string>
#include <vector>

namespace eqt::models {

enum class FamilyKind { Standard, Looped, DEQ, Attractor, EqT };

struct Family {
  FamilyKind kind;
  const char* name;
  const char* summary;
  bool has_loop;    // a closed loop with a step count: solver steps in logs, caps at inference
  bool has_solver;  // a fixed-point solve (solver.*, grad.*): residual traces, backward solves
  bool has_energy;  // a learned energy: the refinement objective per step
  const char* grad_mode;  // preset grad.mode (REFERENCE 4: DEQs train with the exact IFT gradient)
};

const std::vector<Family>& family_table();
// The row named `name`; throws std::invalid_argument naming the value and the choices.
const Family& find_family(const std::string& name);
std::vector<std::string> family_names();
std::string family_choices();  // "standard | looped | ..."
const char* family_name(FamilyKind kind);

}  // namespace eqt::models
