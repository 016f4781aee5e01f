// eqt/models/family.cpp — see family.h. The only place in src/ that spells family names.
#include "eqt/models/family.h"

#include "eqt/util/choices.h"

#include <stdexcept>

namespace eqt::models {

const std::vector<Family>& family_table() {
  static const std::vector<Family> table = {
      {FamilyKind::Standard, "standard", "embed -> N blocks -> logits", false, false, false, "onestep"},
      {FamilyKind::Looped, "looped", "prelude -> K x weight-tied core with input injection -> coda", true, false,
       false, "onestep"},
      {FamilyKind::DEQ, "deq", "solve z = core(z + inject(x)) from z = 0", true, true, false, "ift"},
      {FamilyKind::Attractor, "attractor", "backbone proposes c, a gated head solves y = Head(y + c) - y", true, true,
       false, "onestep"},
      {FamilyKind::EqT, "eqt", "per block: gradient descent on a learned energy with a proximal term", true, false,
       true, "onestep"},
  };
  return table;
}

std::string family_choices() { return util::choices(family_names()); }

std::vector<std::string> family_names() {
  std::vector<std::string> names;
  for (const auto& f : family_table()) names.emplace_back(f.name);
  return names;
}

const char* family_name(FamilyKind kind) {
  for (const auto& f : family_table())
    if (f.kind == kind) return f.name;
  throw std::logic_error("family_name: a FamilyKind without a row in the family table");
}

const Family& find_family(const std::string& name) {
  for (const auto& f : family_table())
    if (name == f.name) return f;
  throw std::invalid_argument("model family '" + name + "' is unknown; expected " + family_choices());
}

}  // namespace eqt::models
