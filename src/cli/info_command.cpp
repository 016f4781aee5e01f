// cli/info_command.cpp — `eqt info`: a model's config and parameter count per component.
#include "cli/commands.h"
#include "cli/json_file.h"

#include "eqt/models/family.h"
#include "eqt/models/model.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace eqt::cli {
namespace {

struct InfoArgs {
  std::string model = models::default_family();
  std::string config;
  bool json = false;
};

// The preset of `family`, overridden by the JSON file (if any); unknown keys are errors.
models::ModelConfig load_config(const std::string& family, const std::string& path) {
  auto cfg = models::ModelConfig::preset(family);
  if (path.empty()) return cfg;
  nlohmann::json j = read_json_file(path);
  if (j.contains("family") && j["family"] != family)
    throw std::invalid_argument("config file '" + path + "' is for family " + j["family"].dump() +
                                ", but --model is " + family);
  j["family"] = family;
  try {
    return models::ModelConfig::from_json(j, cfg);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("config file '" + path + "': " + e.what());
  }
}

}  // namespace

void register_info(CLI::App& app, int& /*exit_code*/) {
  auto a = std::make_shared<InfoArgs>();
  auto* cmd = app.add_subcommand("info", "Print a model's config and parameter count per component");
  cmd->add_option("--model", a->model, "Model family")
      ->capture_default_str()
      ->check(CLI::IsMember(models::family_names()));
  cmd->add_option("--config", a->config, "JSON file overriding the family's preset");
  cmd->add_flag("--json", a->json, "Print one JSON object: model, params_total, params, config");
  cmd->callback([a] {
    auto cfg = load_config(a->model, a->config);
    auto model = models::make_model(cfg);
    auto counts = model->param_counts();
    if (a->json) {
      nlohmann::json j = {{"model", cfg.family}, {"params_total", model->param_total()},
                          {"params", counts}, {"config", cfg.to_json()}};
      std::cout << j.dump() << "\n";
      return;
    }
    std::cout << fmt::format("model {}: {} parameters\n", cfg.family, model->param_total());
    for (const auto& [k, v] : counts) std::cout << fmt::format("  {:<12} {:>12}\n", k, v);
    std::cout << "config:\n" << cfg.to_json().dump(2) << "\n";
  });
}

}  // namespace eqt::cli
