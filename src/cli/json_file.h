// cli/json_file.h — read a JSON file given on the command line, with errors naming it.
#pragma once

#include "eqt/io/input_file.h"
#include "eqt/io/json_text.h"
#include "eqt/train/metrics_file.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace eqt::cli {

// Configs, specs and results are small: a file over 64 MiB, a FIFO or a device is refused
// by name (io/input_file.h) instead of blocking or filling memory.
inline nlohmann::json read_json_file(const std::string& path) {
  return io::parse_json(io::read_input_file(path, "JSON file", uint64_t(64) << 20), "'" + path + "'");
}

// A record a run or sweep wrote (eval.json, a sweep row, a metrics line), with metric names
// of earlier versions read as today's (train::upgrade_metric_names).
inline nlohmann::json read_results_file(const std::string& path) {
  auto j = read_json_file(path);
  train::upgrade_metric_names(j);
  return j;
}

// A benchmark's result: exactly one JSON object on stdout with --json, else its table.
inline void print_result(const nlohmann::json& out, bool json, const std::function<void(const nlohmann::json&)>& table) {
  if (json)
    std::cout << out.dump() << "\n";
  else
    table(out);
}

}  // namespace eqt::cli
