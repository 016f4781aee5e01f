// eqt/train/metrics_file.cpp — see metrics_file.h.
#include "eqt/train/metrics_file.h"

#include "eqt/io/text_file.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace eqt::train {

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
