// eqt/util/choices.h — the "a | b | c" text that help and error messages show for a list of
// names (families, tasks, solver methods, gradient modes), built from the list that owns them.
#pragma once

#include <string>
#include <vector>

namespace eqt::util {

inline std::string choices(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : " | ") + n;
  return s;
}

}  // namespace eqt::util
