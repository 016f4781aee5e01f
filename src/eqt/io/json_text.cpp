// eqt/io/json_text.cpp — see json_text.h.
#include "eqt/io/json_text.h"

#include <stdexcept>

namespace eqt::io {

nlohmann::json parse_json(const std::string& text, const std::string& what, int max_depth) {
  // One pass over the bytes, skipping strings (and their escaped quotes), counting the
  // open arrays and objects.
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw std::invalid_argument(what + ": JSON nested deeper than " + std::to_string(max_depth) +
                                    " levels (at byte " + std::to_string(i) + ")");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(what + " is not valid JSON: " + e.what());
  }
}

}  // namespace eqt::io
