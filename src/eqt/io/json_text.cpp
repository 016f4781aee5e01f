// eqt/io/json_text.cpp — see json_text.h.
#include "eqt/io/json_text.h"

#include <set>
#include <stdexcept>
#include <vector>

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
  // A key given twice in one object is refused: the parser would keep the last one and drop
  // the first silently (a sweep's repeated axis, a config's repeated field).
  std::vector<std::set<std::string>> keys;  // one set per open object
  auto no_repeats = [&](int /*depth*/, nlohmann::json::parse_event_t ev, nlohmann::json& v) {
    using E = nlohmann::json::parse_event_t;
    if (ev == E::object_start) keys.emplace_back();
    else if (ev == E::object_end && !keys.empty()) keys.pop_back();
    else if (ev == E::key && !keys.empty() && !keys.back().insert(v.get<std::string>()).second)
      throw std::invalid_argument(what + ": the key '" + v.get<std::string>() +
                                  "' appears twice in one object; expected each key once");
    return true;
  };
  try {
    return nlohmann::json::parse(text, no_repeats);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(what + " is not valid JSON: " + e.what());
  }
}

}  // namespace eqt::io
