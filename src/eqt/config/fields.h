// eqt/config/fields.h — declare each configuration field once; derive everything else.
//
// A config struct lists its fields in `template <class V> void visit(V& v)` as
//   v("name", member, "help");              a field
//   visit_section(v, "group", member);      a nested struct with its own visit(): "group.*"
// and the visitors below turn that single list into JSON output and JSON input that rejects
// unknown keys and wrong types by name. Dotted names become nested JSON objects.
// What it is not: a general reflection library; it knows int64, double, bool and string.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace eqt::config {

// JSON pointer for a dotted name: "solver.tol" -> "/solver/tol".
inline nlohmann::json::json_pointer pointer(const std::string& dotted) {
  std::string p = "/" + dotted;
  for (auto& c : p)
    if (c == '.') c = '/';
  return nlohmann::json::json_pointer(p);
}

// Forwards a section's fields to the outer visitor under "prefix.name".
template <class V>
struct Prefixed {
  V& outer;
  std::string prefix;
  template <class T>
  void operator()(const std::string& name, T& value, const char* help) {
    outer(prefix + "." + name, value, help);
  }
};

template <class V, class S>
void visit_section(V& v, const std::string& prefix, S& section) {
  Prefixed<V> p{v, prefix};
  section.visit(p);
}

struct ToJson {
  nlohmann::json j = nlohmann::json::object();
  template <class T>
  void operator()(const std::string& name, const T& value, const char* /*help*/) {
    j[pointer(name)] = value;
  }
};

struct FromJson {
  const nlohmann::json& j;
  std::set<std::string> known;  // dotted names visited
  template <class T>
  void operator()(const std::string& name, T& value, const char* /*help*/) {
    known.insert(name);
    auto p = pointer(name);
    if (!j.contains(p)) return;  // absent: keep the default
    const auto& x = j.at(p);
    bool ok = std::is_same_v<T, bool> ? x.is_boolean()
              : std::is_same_v<T, std::string> ? x.is_string()
              : std::is_integral_v<T> ? x.is_number_integer()
                                      : x.is_number();
    if (!ok)
      throw std::invalid_argument("config key '" + name + "' has value " + x.dump() + " of the wrong type");
    value = x.get<T>();
  }
  // Every leaf of j must be a visited name.
  void check_unknown(const nlohmann::json& node, const std::string& prefix) const {
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string name = prefix.empty() ? it.key() : prefix + "." + it.key();
      if (it->is_object()) {
        check_unknown(*it, name);
      } else if (!known.count(name)) {
        std::string all;
        for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
        throw std::invalid_argument("unknown config key '" + name + "'; known keys: " + all);
      }
    }
  }
};

template <class C>
nlohmann::json to_json(const C& c) {
  ToJson v;
  const_cast<C&>(c).visit(v);
  return v.j;
}

// Starts from `base` (defaults) and applies j; unknown keys and wrong types throw.
template <class C>
C from_json(const nlohmann::json& j, C base = C()) {
  if (!j.is_object()) throw std::invalid_argument("config must be a JSON object, got " + j.dump());
  FromJson v{j, {}};
  base.visit(v);
  v.check_unknown(j, "");
  return base;
}

}  // namespace eqt::config
