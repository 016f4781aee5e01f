// cli/json_file.h — read a JSON file given on the command line, with errors naming it.
#pragma once

#include "eqt/io/json_text.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace eqt::cli {

inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return io::parse_json(text.str(), "'" + path + "'");
}

// A benchmark's result: exactly one JSON object on stdout with --json, else its table.
inline void print_result(const nlohmann::json& out, bool json, const std::function<void(const nlohmann::json&)>& table) {
  if (json)
    std::cout << out.dump() << "\n";
  else
    table(out);
}

}  // namespace eqt::cli
