// cli/sweep_spec.cpp — see sweep_spec.h.
#include "cli/sweep_spec.h"

#include "eqt/models/family.h"
#include "eqt/train/metrics_file.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

namespace eqt::cli {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& field, const std::string& what) {
  throw std::invalid_argument(where + ": '" + field + "' " + what);
}

// A value as a folder-name fragment: 64, 0.001, true, cosine.
std::string fragment(const nlohmann::json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  for (char& c : s)
    if (c == '/' || c == ' ' || c == '"' || c == ',' || c == '=') c = '_';
  return s;
}

}  // namespace

std::string SweepAxis::short_name() const { return key.substr(key.rfind('.') + 1); }

void set_dotted(nlohmann::json& j, const std::string& key, const nlohmann::json& v) {
  nlohmann::json* node = &j;
  size_t start = 0;
  for (size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1) {
    node = &(*node)[key.substr(start, dot - start)];
    if (!node->is_object()) *node = nlohmann::json::object();
  }
  (*node)[key.substr(start)] = v;
}

SweepSpec parse_sweep_spec(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw std::invalid_argument(where + ": a sweep spec is a JSON object");
  static const std::set<std::string> known = {"task", "families", "seeds", "axes", "set", "family_set",
                                              "eval_solver_steps", "eval_restarts", "plot", "about"};
  for (const auto& [k, v] : j.items())
    if (!known.count(k)) bad(where, k, "is not a sweep field; expected task, families, seeds, axes, set, "
                                       "family_set, eval_solver_steps, eval_restarts, plot, about");
  SweepSpec s;
  if (!j.contains("task") || !j["task"].is_string()) bad(where, "task", "must be a task name (parity, text, sudoku, maze)");
  s.task = j["task"];
  const auto names = models::family_names();
  if (!j.contains("families") || !j["families"].is_array() || j["families"].empty())
    bad(where, "families", "must be a non-empty list of " + models::family_choices());
  for (const auto& f : j["families"]) {
    if (!f.is_string() || std::find(names.begin(), names.end(), f.get<std::string>()) == names.end())
      bad(where, "families", "holds " + f.dump() + "; expected " + models::family_choices());
    if (std::find(s.families.begin(), s.families.end(), f.get<std::string>()) != s.families.end())
      bad(where, "families", "names " + f.dump() + " twice; expected each family once");
    s.families.push_back(f);
  }
  if (!j.contains("seeds") || !j["seeds"].is_array() || j["seeds"].empty())
    bad(where, "seeds", "must be a non-empty list of integers >= 0");
  for (const auto& v : j["seeds"]) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0) bad(where, "seeds", "holds " + v.dump() + "; expected integers >= 0");
    if (std::find(s.seeds.begin(), s.seeds.end(), v.get<int64_t>()) != s.seeds.end())
      bad(where, "seeds", "holds " + v.dump() + " twice; a repeated seed is the same run, not another sample");
    s.seeds.push_back(v);
  }
  if (j.contains("axes")) {
    if (!j["axes"].is_array()) bad(where, "axes", "must be a list of {\"key\": \"a.b\", \"values\": [...]}");
    for (const auto& a : j["axes"]) {
      if (!a.is_object() || !a.contains("key") || !a["key"].is_string() || !a.contains("values") ||
          !a["values"].is_array() || a["values"].empty())
        bad(where, "axes", "holds " + a.dump() + "; expected {\"key\": \"a.b\", \"values\": [non-empty list]}");
      SweepAxis ax{a["key"], {}};
      for (const auto& other : s.axes)
        if (other.key == ax.key || other.short_name() == ax.short_name())
          bad(where, "axes", "has two axes named '" + ax.short_name() + "' ('" + other.key + "', '" + ax.key +
                                 "'); cells are named by the last component of each key, so each must be distinct");
      for (const auto& v : a["values"]) {
        if (v.is_object() && (!v.contains("value") || !v.contains("set") || !v["set"].is_object() || v.size() != 2))
          bad(where, "axes", "value " + v.dump() + " must be a plain value or {\"value\": x, \"set\": {dotted keys}}");
        ax.values.push_back(v);
      }
      // Distinct values must give distinct folder names ("a/b" and "a_b" would share one).
      std::map<std::string, nlohmann::json> named;
      for (const auto& v : ax.values) {
        const auto& shown = v.is_object() ? v["value"] : v;
        auto [it, fresh] = named.emplace(fragment(shown), shown);
        if (!fresh)
          bad(where, "axes", "'" + ax.key + "' has values " + it->second.dump() + " and " + shown.dump() +
                                 ", which both name the cell folder '" + ax.short_name() + "=" + it->first +
                                 "'; expected values that differ after '/', ' ', '\"', ',', '=' become '_'");
      }
      s.axes.push_back(ax);
    }
  }
  auto dotted_object = [&](const nlohmann::json& v, const std::string& field) {
    if (!v.is_object()) bad(where, field, "must be an object of dotted config keys, e.g. {\"train.steps\": 1500}");
    return v;
  };
  if (j.contains("set")) s.set = dotted_object(j["set"], "set");
  if (j.contains("family_set")) {
    s.family_set = dotted_object(j["family_set"], "family_set");
    for (const auto& [f, v] : s.family_set.items()) {
      if (std::find(s.families.begin(), s.families.end(), f) == s.families.end())
        bad(where, "family_set", "names '" + f + "', which is not one of this sweep's families");
      dotted_object(v, "family_set." + f);
    }
  }
  if (j.contains("eval_solver_steps")) {
    if (!j["eval_solver_steps"].is_array()) bad(where, "eval_solver_steps", "must be a list like [\"0\", \"1\", \"max\"]");
    for (const auto& v : j["eval_solver_steps"]) s.eval_solver_steps.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  if (j.contains("eval_restarts")) {
    const auto& e = j["eval_restarts"];
    if (!e.is_array() || e.empty())
      bad(where, "eval_restarts", "must be a list of eqt eval options like [\"--depth\", \"8x\", \"--restarts\", \"16\"]");
    for (const auto& v : e) {
      if (!v.is_string()) bad(where, "eval_restarts", "holds " + v.dump() + "; expected strings (eqt eval's options)");
      const auto o = v.get<std::string>();
      if (o == "--run" || o == "--json" || o == "--device" || o == "--data" || o.rfind("--run=", 0) == 0)
        bad(where, "eval_restarts", "holds '" + o + "', which the sweep sets itself; expected --depth, --restarts, "
                                    "--start-noise, --path-noise, --restart-seed, --batch or --solver");
      s.eval_restarts.push_back(o);
    }
  }
  // The grid is expanded in memory (and every run gets a folder): refuse absurd sizes first.
  double runs = double(s.families.size()) * double(s.seeds.size());
  for (const auto& ax : s.axes) runs *= double(ax.values.size());
  if (runs > double(kMaxSweepRuns))
    throw std::invalid_argument(where + ": the grid has " + std::to_string(int64_t(std::min(runs, 9e18))) + " runs (families x seeds x axis values); "
                                "a sweep holds at most " + std::to_string(kMaxSweepRuns));
  if (j.contains("plot")) {
    if (!j["plot"].is_array()) bad(where, "plot", "must be a list of metric names, e.g. [\"token_accuracy\"]");
    s.plot.clear();
    for (const auto& v : j["plot"]) {
      if (!v.is_string()) bad(where, "plot", "holds " + v.dump() + "; expected metric names");
      s.plot.push_back(train::current_metric_name(v));  // specs naming an earlier spelling keep working
    }
  }
  return s;
}

std::vector<SweepRun> expand_sweep(const SweepSpec& spec,
                                   const std::function<nlohmann::json(const std::string& family)>& preset) {
  // The cells: the cartesian product of the axes (one empty point without axes).
  std::vector<nlohmann::json> points = {nlohmann::json::object()};
  for (const auto& ax : spec.axes) {
    std::vector<nlohmann::json> next;
    for (const auto& p : points)
      for (const auto& v : ax.values) {
        auto q = p;
        q[ax.key] = v;
        next.push_back(q);
      }
    points = next;
  }
  std::vector<SweepRun> runs;
  for (int64_t seed : spec.seeds)
    for (const auto& point : points) {
      // point: what the spec gave per axis; shown: each axis value (a plot x, the cell name).
      const nlohmann::json& point_values = point;
      nlohmann::json shown = nlohmann::json::object();
      for (const auto& ax : spec.axes) {
        const auto& v = point_values[ax.key];
        shown[ax.key] = v.is_object() ? v["value"] : v;
      }
      std::string cell;
      for (const auto& ax : spec.axes)
        cell += (cell.empty() ? "" : ",") + ax.short_name() + "=" + fragment(shown[ax.key]);
      if (cell.empty()) cell = "base";
      for (const auto& family : spec.families) {
        nlohmann::json config = preset(family);
        if (!config.is_object()) config = nlohmann::json::object();
        auto apply = [&config](const nlohmann::json& dotted) {
          for (const auto& [k, v] : dotted.items()) set_dotted(config, k, v);
        };
        apply(spec.set);
        if (spec.family_set.contains(family)) apply(spec.family_set[family]);
        for (const auto& ax : spec.axes) {  // a plain value sets the axis key; {value, set} sets several
          const auto& v = point_values.at(ax.key);
          if (v.is_object()) apply(v["set"]);
          else set_dotted(config, ax.key, v);
        }
        SweepRun r;
        r.family = family;
        r.point = shown;
        r.cell = cell;
        r.seed = seed;
        r.dir = family + "/" + cell + "/seed" + std::to_string(seed);
        r.config = config;
        runs.push_back(r);
      }
    }
  return runs;
}

}  // namespace eqt::cli
