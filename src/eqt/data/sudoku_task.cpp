// eqt/data/sudoku_task.cpp — Sudoku as a grid task: 81 tokens (0 blank, 1-9 given), the
// target of every blank is its solution digit (givens are not asked: copying them is not
// the task), rated by the exact solver's search nodes. Puzzles come from the generator
// (train and test from different seeds) or from a file, whose last n_test rows are held out.
#include "eqt/data/grid_task.h"
#include "eqt/data/make_task.h"
#include "eqt/data/sudoku.h"

namespace eqt::data {
namespace {

GridExample to_example(const SudokuPuzzle& p) {
  GridExample e;
  for (int c = 0; c < 81; ++c) {
    e.tokens.push_back(p.puzzle[size_t(c)]);
    e.targets.push_back(p.puzzle[size_t(c)] ? kIgnore : int64_t(p.solution[size_t(c)]));
  }
  e.rating = p.rating;
  return e;
}

SudokuPuzzle from_example(const GridExample& e) {
  SudokuPuzzle p;
  for (int c = 0; c < 81; ++c) {
    p.puzzle[size_t(c)] = uint8_t(e.tokens[size_t(c)]);
    p.solution[size_t(c)] = uint8_t(e.tokens[size_t(c)] ? e.tokens[size_t(c)] : e.targets[size_t(c)]);
  }
  p.rating = e.rating;
  return p;
}

}  // namespace

std::shared_ptr<Task> make_sudoku_task(const nlohmann::json& o) {
  const std::string file = o.value("data", std::string());
  const int64_t n_train = o.value("n_train", int64_t(2000)), n_test = o.value("n_test", int64_t(200));
  const int min_clues = o.value("min_clues", 17);
  const uint64_t seed = o.value("seed", uint64_t(0));
  if (n_train < 1 || n_test < 1) throw std::invalid_argument("sudoku n_train and n_test must be >= 1");
  // test_data (set by `eqt eval --data FILE`): every puzzle of FILE is the held-out set.
  const std::string test_file = o.value("test_data", std::string());
  std::vector<GridExample> train, test;
  if (!file.empty()) {
    std::tie(train, test) = split_examples(to_examples(load_sudoku(file), to_example), n_test, "sudoku file '" + file + "'");
  } else {
    if (min_clues < 17 || min_clues > 80)
      throw std::invalid_argument("sudoku min_clues " + std::to_string(min_clues) + " must be in 17..80");
    train = to_examples(generate_sudoku(int(n_train), seed * 2 + 1, min_clues), to_example);
    if (test_file.empty()) test = to_examples(generate_sudoku(int(n_test), seed * 2 + 2, min_clues), to_example);
  }
  if (!test_file.empty()) test = to_examples(load_sudoku(test_file), to_example);
  Augment aug;
  if (o.value("augment", true))
    aug = [](GridExample& e, std::mt19937_64& rng) {
      auto p = from_example(e);
      augment_sudoku(p, rng);
      e = to_example(p);
    };
  nlohmann::json opts = {{"name", "sudoku"}, {"data", file},         {"n_train", n_train}, {"n_test", n_test},
                         {"min_clues", min_clues}, {"seed", seed}, {"augment", o.value("augment", true)}};
  if (!test_file.empty()) opts["test_data"] = test_file;
  return std::make_shared<GridTask>("sudoku", 10, std::move(train), std::move(test), aug, "nodes", opts);
}

}  // namespace eqt::data
