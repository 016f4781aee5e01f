// cli/validators.h — CLI11 checks whose messages name the value and what would be accepted
// (CLI11 then prefixes the flag): every number a user gives is applied or refused, never
// silently replaced by a default. NaN is refused by all of them.
// What it is not: checks that depend on other flags (the commands do those).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace eqt::cli {

namespace detail {
inline std::string short_number(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);  // 0.500000 -> 0.5, 1.000000 -> 1.
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// A validator accepting a whole number string for which ok(value) holds; NaN never does.
template <class Ok>
CLI::Validator number_where(Ok ok, const std::string& what) {
  return CLI::Validator(
      [ok, what](std::string& s) -> std::string {
        size_t used = 0;
        double v = 0;
        try {
          v = std::stod(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        const bool good = used > 0 && used == s.size() && ok(v);  // comparisons with NaN are false
        return good ? std::string() : "'" + s + "' is invalid; expected a number " + what;
      },
      what);
}

inline CLI::Validator bound(double lo, bool strict) {
  return number_where([lo, strict](double v) { return strict ? v > lo : v >= lo; },
                      std::string(strict ? "> " : ">= ") + short_number(lo));
}
}  // namespace detail

// A number in [lo, hi]; the help shows "in [lo, hi]".
inline CLI::Validator between(double lo, double hi) {
  return detail::number_where([lo, hi](double v) { return v >= lo && v <= hi; },
                              "in [" + detail::short_number(lo) + ", " + detail::short_number(hi) + "]");
}

// A number >= lo; the help shows ">= lo".
inline CLI::Validator at_least(double lo) { return detail::bound(lo, false); }
// A number > lo; the help shows "> lo".
inline CLI::Validator above(double lo) { return detail::bound(lo, true); }

}  // namespace eqt::cli
