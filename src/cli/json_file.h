// cli/json_file.h — read a JSON file given on the command line, with errors naming it.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>

namespace eqt::cli {

inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read '" + path + "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::invalid_argument("'" + path + "' is not valid JSON: " + e.what());
  }
}

// A benchmark's result: exactly one JSON object on stdout with --json, else its table.
inline void print_result(const nlohmann::json& out, bool json, const std::function<void(const nlohmann::json&)>& table) {
  if (json)
    std::cout << out.dump() << "\n";
  else
    table(out);
}

}  // namespace eqt::cli
