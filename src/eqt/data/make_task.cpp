// eqt/data/make_task.cpp — see make_task.h.
#include "eqt/data/make_task.h"

#include "eqt/data/parity.h"
#include "eqt/data/text.h"
#include "eqt/util/choices.h"

#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

namespace eqt::data {
namespace {

void only_keys(const std::string& task, const nlohmann::json& o, std::set<std::string> known) {
  for (auto it = o.begin(); it != o.end(); ++it)
    if (!known.count(it.key()) && it.key() != "name") {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw std::invalid_argument("task " + task + " has no option '" + it.key() + "'; its options are: " + list);
    }
}

// Every task option's type and range, checked before a task is built from it: options come
// from flags, but also from a checkpoint or an imported file's metadata, where a wrong type
// would surface as a bare JSON error and an absurd size as an allocation of terabytes.
struct OptionRule {
  enum Kind { Int, Real, Text, Flag } kind;
  double lo = 0, hi = 0;  // numbers: the accepted range
};

const std::map<std::string, OptionRule>& option_rules() {
  static const std::map<std::string, OptionRule> rules = {
      {"name", {OptionRule::Text}},
      {"length", {OptionRule::Int, 1, 1 << 16}},
      {"n_train", {OptionRule::Int, 1, 1e7}},
      {"n_test", {OptionRule::Int, 1, 1e7}},
      {"seed", {OptionRule::Int, 0, 9.2e18}},
      {"data", {OptionRule::Text}},
      {"test_data", {OptionRule::Text}},
      {"tokenizer", {OptionRule::Text}},
      {"tokenizer_hash", {OptionRule::Text}},
      {"seq_len", {OptionRule::Int, 2, 1 << 20}},
      {"val_fraction", {OptionRule::Real, 0, 1}},
      {"val_windows", {OptionRule::Int, 0, 1e7}},
      {"size", {OptionRule::Int, 5, 201}},
      {"min_path", {OptionRule::Int, 1, 201 * 201}},
      {"open_walls", {OptionRule::Real, 0, 1}},
      {"min_clues", {OptionRule::Int, 1, 80}},  // per box shape in sudoku_task.cpp
      {"box", {OptionRule::Text}},
      {"augment", {OptionRule::Flag}},
  };
  return rules;
}

void check_option_types(const std::string& task, const nlohmann::json& o) {
  if (!o.is_object()) throw std::invalid_argument("task " + task + ": options must be a JSON object, got " + o.dump());
  for (auto it = o.begin(); it != o.end(); ++it) {
    const auto rule = option_rules().find(it.key());
    if (rule == option_rules().end()) continue;  // only_keys names it
    const auto& v = it.value();
    const auto& r = rule->second;
    auto bad = [&](const std::string& want) {
      throw std::invalid_argument("task " + task + " option '" + it.key() + "' = " + v.dump() + " is invalid; expected " + want);
    };
    auto range = [&] { return "in [" + nlohmann::json(r.lo).dump() + ", " + nlohmann::json(r.hi).dump() + "]"; };
    switch (r.kind) {
      case OptionRule::Text:
        if (!v.is_string()) bad("a string");
        break;
      case OptionRule::Flag:
        if (!v.is_boolean()) bad("true or false");
        break;
      case OptionRule::Int:
        if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) ||
            double(v.get<int64_t>()) < r.lo || double(v.get<int64_t>()) > r.hi)
          bad("an integer " + range());
        break;
      case OptionRule::Real:
        if (!v.is_number() || !(v.get<double>() >= r.lo && v.get<double>() <= r.hi)) bad("a number " + range());
        break;
    }
  }
}

}  // namespace

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"parity", "text", "sudoku", "maze"};
  return names;
}

std::string task_choices() { return util::choices(task_names()); }

std::shared_ptr<Task> make_task(const std::string& name, const nlohmann::json& given) {
  nlohmann::json o = given;
  // Runs of earlier versions saved the maze's wall fraction as "loops", a word that now
  // means only the looped family's recurrence count.
  if (name == "maze" && o.is_object() && o.contains("loops")) {
    if (o.contains("open_walls"))
      throw std::invalid_argument("maze options give both 'loops' (the earlier name) and 'open_walls'; keep 'open_walls'");
    o["open_walls"] = o["loops"];
    o.erase("loops");
  }
  check_option_types(name, o);
  if (o.contains("test_data") && name != "sudoku" && name != "maze")
    throw std::invalid_argument("--data FILE at evaluation scores a puzzle file (sudoku, maze); a " + name +
                                " run is evaluated on its own held-out set");
  if (name == "parity") {
    only_keys(name, o, {"length", "n_train", "n_test", "seed"});
    ParityOptions p;
    p.length = o.value("length", p.length);
    p.n_train = o.value("n_train", p.n_train);
    p.n_test = o.value("n_test", p.n_test);
    p.seed = o.value("seed", p.seed);
    return std::make_shared<ParityTask>(p);
  }
  if (name == "text") {
    only_keys(name, o, {"data", "seq_len", "val_fraction", "val_windows", "tokenizer", "tokenizer_hash"});
    TextOptions t;
    // "bytes" or a SentencePiece model file, with the content hash a trained run recorded.
    const std::string tok = o.value("tokenizer", std::string("bytes"));
    if (tok != "bytes") {
      t.tokenizer = std::filesystem::exists(tok) ? std::filesystem::absolute(tok).string() : tok;
      t.tokenizer_hash = o.value("tokenizer_hash", std::string());
    }
    t.data = o.value("data", t.data);
    // Stored in checkpoints: make it independent of the working directory.
    if (!t.data.empty() && std::filesystem::exists(t.data)) t.data = std::filesystem::absolute(t.data).string();
    t.seq_len = o.value("seq_len", t.seq_len);
    t.val_fraction = o.value("val_fraction", t.val_fraction);
    t.val_windows = o.value("val_windows", t.val_windows);
    return std::make_shared<TextTask>(t);
  }
  if (name == "sudoku") {
    only_keys(name, o, {"data", "test_data", "n_train", "n_test", "min_clues", "seed", "augment", "box"});
    return make_sudoku_task(o);
  }
  if (name == "maze") {
    only_keys(name, o, {"data", "test_data", "size", "min_path", "open_walls", "n_train", "n_test", "seed", "augment"});
    return make_maze_task(o);
  }
  throw std::invalid_argument("unknown task '" + name + "'; expected " + task_choices());
}

}  // namespace eqt::data
