// eqt/train/metrics_file.cpp — see metrics_file.h.
#include "eqt/train/metrics_file.h"

#include "eqt/io/text_file.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace eqt::train {

std::string current_metric_name(const std::string& name) {
  if (name == "mean_solver_steps") return "solver_steps_mean";
  if (name == "val_solver_steps") return "val_solver_steps_mean";
  return name;
}

void upgrade_metric_names(nlohmann::json& record) {
  if (record.is_array()) {
    for (auto& x : record) upgrade_metric_names(x);
    return;
  }
  if (!record.is_object()) return;
  for (const char* old : {"mean_solver_steps", "val_solver_steps"})
    if (record.contains(old)) {
      const auto now = current_metric_name(old);
      if (!record.contains(now)) record[now] = record[old];
      record.erase(old);
    }
  for (auto& [key, value] : record.items())
    if (value.is_structured()) upgrade_metric_names(value);
}

int64_t trim_metrics_after(const std::string& path, int64_t step) {
  if (!std::filesystem::exists(path)) return 0;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  std::string line, kept;
  int64_t dropped = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const bool keep = j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
                      j["step"].get<int64_t>() <= step;
    if (keep) {
      kept += line;
      kept += '\n';
    } else {
      ++dropped;
    }
  }
  if (dropped > 0) io::write_text_file(path, kept);
  return dropped;
}

}  // namespace eqt::train
