// eqt/io/json_text.h — JSON parsed from text that may come from anywhere (config files,
// checkpoint headers, HTTP bodies). Nesting deeper than max_depth is refused before the
// parser and the code that walks the result ever see it: a file of 100,000 '[' would
// otherwise exhaust the stack (recursive merges, dumps and conversions) and crash eqt
// instead of naming the file. eqt's own documents nest fewer than 8 levels.
// What it is not: a schema check; callers check the fields they read.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace eqt::io {

constexpr int kMaxJsonDepth = 64;

// std::invalid_argument "<what>: ..." when the text nests deeper than max_depth or is not
// valid JSON.
nlohmann::json parse_json(const std::string& text, const std::string& what, int max_depth = kMaxJsonDepth);

}  // namespace eqt::io
