// eqt/data/grid_task.h — a supervised task over fixed-length puzzles (Sudoku, mazes): every
// example is a grid of input tokens, a target per cell (kIgnore where nothing is asked),
// and a difficulty rating. Training batches draw puzzles with the trainer's generator and
// apply the task's augmentation; the held-out set is fixed, unaugmented, and split into
// three difficulty buckets at the terciles of its ratings, for `eqt eval`'s breakdown.
// Models see the whole grid (not causal). What it is not: a generator or a file format —
// sudoku_task.cpp and maze_task.cpp build the examples.
#pragma once

#include "eqt/data/task.h"

#include <functional>
#include <random>

namespace eqt::data {

struct GridExample {
  std::vector<int64_t> tokens;   // (T,) input tokens
  std::vector<int64_t> targets;  // (T,) target tokens or kIgnore
  int64_t rating = 0;            // difficulty (search nodes, path moves, ...)
};

// Rewrites an example into an equivalent one (a symmetry of the puzzle).
using Augment = std::function<void(GridExample&, std::mt19937_64&)>;

class GridTask final : public Task {
 public:
  GridTask(std::string name, int64_t vocab, std::vector<GridExample> train, std::vector<GridExample> test,
           Augment augment, std::string rating_name, nlohmann::json options);
  std::string name() const override { return name_; }
  int64_t vocab() const override { return vocab_; }
  int64_t seq_len() const override { return seq_len_; }
  bool causal() const override { return false; }
  Batch train_batch(int64_t batch_size, at::Generator& gen) override;
  std::vector<Batch> eval_batches(int64_t batch_size) const override;
  std::string breakdown_by() const override { return "difficulty"; }
  std::vector<std::string> bucket_names() const override { return bucket_names_; }
  nlohmann::json options() const override { return options_; }

 private:
  std::string name_;
  int64_t vocab_, seq_len_;
  std::vector<GridExample> train_;
  Augment augment_;
  torch::Tensor test_tokens_, test_targets_, test_bucket_;  // (N, T), (N, T), (N,)
  std::vector<std::string> bucket_names_;
  nlohmann::json options_;
};

// Every puzzle of ps converted by `convert` (a puzzle -> GridExample function).
template <class Puzzle, class Convert>
std::vector<GridExample> to_examples(const std::vector<Puzzle>& ps, Convert convert) {
  std::vector<GridExample> out;
  out.reserve(ps.size());
  for (const auto& p : ps) out.push_back(convert(p));
  return out;
}

// Splits `all` into (train, test) keeping the last n_test for testing; errors if too few.
std::pair<std::vector<GridExample>, std::vector<GridExample>> split_examples(std::vector<GridExample> all,
                                                                             int64_t n_test,
                                                                             const std::string& what);

}  // namespace eqt::data
