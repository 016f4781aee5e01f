// eqt/data/sudoku_task.cpp — Sudoku as a grid task: N x N tokens (0 blank, 1-N given; box
// "2x2", "2x3" or "3x3" (default), the vocabulary 10 for every shape), the
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
  for (size_t c = 0; c < p.puzzle.size(); ++c) {
    e.tokens.push_back(p.puzzle[c]);
    e.targets.push_back(p.puzzle[c] ? kIgnore : int64_t(p.solution[c]));
  }
  e.rating = p.rating;
  return e;
}

SudokuPuzzle from_example(const GridExample& e) {
  SudokuPuzzle p;
  for (size_t c = 0; c < e.tokens.size(); ++c) {
    p.puzzle.push_back(uint8_t(e.tokens[c]));
    p.solution.push_back(uint8_t(e.tokens[c] ? e.tokens[c] : e.targets[c]));
  }
  p.rating = e.rating;
  return p;
}

}  // namespace

std::shared_ptr<Task> make_sudoku_task(const nlohmann::json& o) {
  const std::string file = o.value("data", std::string());
  const int64_t n_train = o.value("n_train", int64_t(2000)), n_test = o.value("n_test", int64_t(200));
  const Box box = parse_box(o.value("box", std::string("3x3")));
  const int min_clues = o.value("min_clues", least_clues(box));
  const uint64_t seed = o.value("seed", uint64_t(0));
  if (n_train < 1 || n_test < 1) throw std::invalid_argument("sudoku n_train and n_test must be >= 1");
  // test_data (set by `eqt eval --data FILE`): every puzzle of FILE is the held-out set.
  const std::string test_file = o.value("test_data", std::string());
  std::vector<GridExample> train, test;
  if (!file.empty()) {
    std::tie(train, test) =
        split_examples(to_examples(load_sudoku(file, box), to_example), n_test, "sudoku file '" + file + "'");
  } else {
    if (min_clues < least_clues(box) || min_clues >= box.cells())
      throw std::invalid_argument("sudoku min_clues " + std::to_string(min_clues) + " must be in " +
                                  std::to_string(least_clues(box)) + ".." + std::to_string(box.cells() - 1) +
                                  " for box " + box.name());
    train = to_examples(generate_sudoku(int(n_train), seed * 2 + 1, min_clues, box), to_example);
    if (test_file.empty()) test = to_examples(generate_sudoku(int(n_test), seed * 2 + 2, min_clues, box), to_example);
  }
  if (!test_file.empty()) test = to_examples(load_sudoku(test_file, box), to_example);
  Augment aug;
  if (o.value("augment", true))
    aug = [box](GridExample& e, std::mt19937_64& rng) {
      auto p = from_example(e);
      augment_sudoku(p, rng, box);
      e = to_example(p);
    };
  nlohmann::json opts = {{"name", "sudoku"}, {"data", file},         {"n_train", n_train}, {"n_test", n_test},
                         {"min_clues", min_clues}, {"seed", seed}, {"augment", o.value("augment", true)}};
  // 9 x 9 runs of earlier versions have no "box": their options stay as they were.
  if (!(box == Box{})) opts["box"] = box.name();
  if (!test_file.empty()) opts["test_data"] = test_file;
  return std::make_shared<GridTask>("sudoku", 10, std::move(train), std::move(test), aug, "nodes", opts);
}

}  // namespace eqt::data
