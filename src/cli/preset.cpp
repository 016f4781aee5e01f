// cli/preset.cpp — see preset.h.
#include "cli/preset.h"

#include "cli/commands.h"
#include "cli/json_file.h"

#include "eqt/config/fields.h"
#include "eqt/data/make_task.h"
#include "eqt/io/json_text.h"

#include <cstdio>
#include <filesystem>

namespace eqt::cli {

std::optional<nlohmann::json> builtin_preset(const std::string& model, const std::string& task) {
  const std::string name = model + "-" + task;
  for (const auto& p : embedded_presets())
    if (name == p.name) return io::parse_json(p.json, "built-in preset " + name);
  return std::nullopt;
}

Preset load_preset(const std::string& model, const std::string& task, const std::string& config,
                   const nlohmann::json& task_overrides, bool talk) {
  Preset p;
  std::string path = config.empty() ? "built-in preset " + model + "-" + task : config;
  nlohmann::json preset = nlohmann::json::object();
  if (!config.empty()) {
    preset = read_json_file(path);
    p.path = path;
  } else if (auto builtin = builtin_preset(model, task)) {
    preset = *builtin;
    p.path = path;
  } else if (talk) {
    std::printf("eqt train: no built-in preset %s-%s; using the %s defaults\n", model.c_str(), task.c_str(),
                model.c_str());
  }
  for (auto it = preset.begin(); it != preset.end(); ++it)
    if (it.key() != "model" && it.key() != "train" && it.key() != "task")
      throw std::invalid_argument("config '" + path + "': unknown section '" + it.key() + "'; expected model, train, task");
  nlohmann::json topts = preset.value("task", nlohmann::json::object());
  for (auto it = task_overrides.begin(); it != task_overrides.end(); ++it) topts[it.key()] = it.value();
  p.task = data::make_task(task, topts);
  auto mj = preset.value("model", nlohmann::json::object());
  mj["family"] = model;
  p.cfg = models::ModelConfig::from_json(mj, models::ModelConfig::preset(model));
  p.cfg.vocab = p.task->vocab();
  p.cfg.block.causal = p.task->causal();
  p.cfg.max_seq = std::max(p.cfg.max_seq, p.task->seq_len());
  // An MLP token mixer (trm.mixer) is as wide as the sequence: exactly the task's length.
  if (p.cfg.trm.mixer == "mlp") p.cfg.max_seq = p.task->seq_len();
  p.topt = config::from_json<train::TrainOptions>(preset.value("train", nlohmann::json::object()));
  return p;
}

}  // namespace eqt::cli
