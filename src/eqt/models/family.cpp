// eqt/models/family.cpp — see family.h. Each row is written beside its family's class
// (models/<name>.cpp); this file only orders them.
#include "eqt/models/family.h"

#include "eqt/models/families.h"
#include "eqt/util/choices.h"

#include <stdexcept>

namespace eqt::models {

const std::vector<Family>& family_table() {
  static const std::vector<Family> table = {standard_family(), looped_family(), deq_family(), attractor_family(),
                                            eqt_family(), trm_family()};
  return table;
}

const char* default_family() { return attractor_family().name; }
const char* baseline_family() { return standard_family().name; }

std::string family_choices() { return util::choices(family_names()); }

std::vector<std::string> family_names() {
  std::vector<std::string> names;
  for (const auto& f : family_table()) names.emplace_back(f.name);
  return names;
}

namespace {
// The names of the rows with a trait, in table order.
std::vector<std::string> names_where(bool Family::*trait) {
  std::vector<std::string> names;
  for (const auto& f : family_table())
    if (f.*trait) names.emplace_back(f.name);
  return names;
}
}  // namespace

std::vector<std::string> state_families() { return names_where(&Family::has_state); }
std::vector<std::string> decoding_families() { return names_where(&Family::can_decode); }

const Family& find_family(const std::string& name) {
  for (const auto& f : family_table())
    if (name == f.name) return f;
  throw std::invalid_argument("model family '" + name + "' is unknown; expected " + family_choices());
}

}  // namespace eqt::models
