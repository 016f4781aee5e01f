// eqt/solve/options.cpp — names of solver enums for configs, logs and the command line.
#include "eqt/solve/solver.h"

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

Method method_from_string(const std::string& s) {
  for (auto m : {Method::Picard, Method::Anderson, Method::Broyden})
    if (to_string(m) == s) return m;
  throw std::invalid_argument("unknown solver '" + s + "'; expected one of: picard, anderson, broyden");
}

StopMode stop_mode_from_string(const std::string& s) {
  if (s == "abs") return StopMode::Abs;
  if (s == "rel") return StopMode::Rel;
  throw std::invalid_argument("unknown stop mode '" + s + "'; expected abs or rel");
}

}  // namespace eqt::solve
