// cli/preset.h — a (model, task) preset resolved into what a run is made of: the model
// config sized to the task, the task, and the training options. Shared by `eqt train` and
// `eqt bench train`, so a benchmark measures exactly the preset a user would train.
#pragma once

#include "eqt/data/task.h"
#include "eqt/models/model_config.h"
#include "eqt/train/trainer.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace eqt::cli {

struct Preset {
  std::string path;  // the JSON file read, or "built-in preset NAME" (empty: the family's defaults)
  models::ModelConfig cfg;
  std::shared_ptr<data::Task> task;
  train::TrainOptions topt;
};

// The presets of configs/*.json, compiled into the binary (presets_embedded.cpp, generated at
// build time): name "<model>-<task>", the file's text.
struct EmbeddedPreset {
  const char* name;
  const char* json;
};
const std::vector<EmbeddedPreset>& embedded_presets();
// The built-in preset of (model, task), parsed; nullopt if there is none.
std::optional<nlohmann::json> builtin_preset(const std::string& model, const std::string& task);

// `config` (a JSON {model, train, task} file) or else the built-in preset <model>-<task>
// (configs/<model>-<task>.json when the binary was built), falling back to the family's
// defaults when there is no such preset (said on stdout when talk).
// task_overrides are merged over the file's task section. Errors name the file and field.
Preset load_preset(const std::string& model, const std::string& task, const std::string& config,
                   const nlohmann::json& task_overrides, bool talk);

}  // namespace eqt::cli
