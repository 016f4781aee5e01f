// eqt/solve/options.cpp — names of solver enums for configs, logs and the command line.
#include "eqt/solve/solver.h"

#include "eqt/util/choices.h"

#include <stdexcept>

namespace eqt::solve {

std::string to_string(Method m) {
  switch (m) {
    case Method::Picard: return "picard";
    case Method::Anderson: return "anderson";
    case Method::Broyden: return "broyden";
  }
  return "?";
}

std::string to_string(StopMode m) { return m == StopMode::Abs ? "abs" : "rel"; }

std::string to_string(Status s) {
  switch (s) {
    case Status::Converged: return "converged";
    case Status::MaxIter: return "max_iter";
    case Status::Diverged: return "diverged";
  }
  return "?";
}

const std::vector<Method>& all_methods() {
  static const std::vector<Method> all = {Method::Picard, Method::Anderson, Method::Broyden};
  return all;
}

std::string method_choices() {
  std::vector<std::string> names;
  for (auto m : all_methods()) names.push_back(to_string(m));
  return util::choices(names);
}

Method method_from_string(const std::string& s) {
  for (auto m : all_methods())
    if (to_string(m) == s) return m;
  throw std::invalid_argument("unknown solver '" + s + "'; expected " + method_choices());
}

StopMode stop_mode_from_string(const std::string& s) {
  if (s == "abs") return StopMode::Abs;
  if (s == "rel") return StopMode::Rel;
  throw std::invalid_argument("unknown stop mode '" + s + "'; expected abs or rel");
}

}  // namespace eqt::solve
