// eqt/data/make_task.cpp — see make_task.h.
#include "eqt/data/make_task.h"

#include "eqt/data/parity.h"
#include "eqt/data/text.h"

#include <filesystem>
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

}  // namespace

std::shared_ptr<Task> make_task(const std::string& name, const nlohmann::json& o) {
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
    only_keys(name, o, {"data", "test_data", "n_train", "n_test", "min_clues", "seed", "augment"});
    return make_sudoku_task(o);
  }
  if (name == "maze") {
    only_keys(name, o, {"data", "test_data", "size", "min_path", "loops", "n_train", "n_test", "seed", "augment"});
    return make_maze_task(o);
  }
  throw std::invalid_argument("unknown task '" + name + "'; expected one of: parity, text, sudoku, maze");
}

}  // namespace eqt::data
