// eqt/data/maze_task.cpp — mazes as a grid task: n * n tokens ('#' 0, ' ' 1, 'S' 2, 'G' 3),
// the target of every open cell other than S and G is 4 when it lies on the shortest path
// ('o') and 1 otherwise, rated by the path's length in moves. Training puzzles get one of
// the 8 symmetries of the square at random.
#include "eqt/data/grid_task.h"
#include "eqt/data/make_task.h"
#include "eqt/data/maze.h"

namespace eqt::data {
namespace {

const std::string kAlphabet = "# SGo";  // token id = index

GridExample to_example(const Maze& m) {
  GridExample e;
  for (size_t i = 0; i < m.grid.size(); ++i) {
    e.tokens.push_back(int64_t(kAlphabet.find(m.grid[i])));
    e.targets.push_back(m.grid[i] == ' ' ? int64_t(kAlphabet.find(m.solution[i])) : kIgnore);
  }
  e.rating = m.path_moves;
  return e;
}

Maze from_example(const GridExample& e, int64_t n) {
  Maze m;
  m.n = n;
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    m.grid += kAlphabet[size_t(e.tokens[i])];
    m.solution += e.targets[i] == kIgnore ? kAlphabet[size_t(e.tokens[i])] : kAlphabet[size_t(e.targets[i])];
  }
  m.path_moves = e.rating;
  return m;
}

}  // namespace

std::shared_ptr<Task> make_maze_task(const nlohmann::json& o) {
  const std::string file = o.value("data", std::string());
  const int64_t n_train = o.value("n_train", int64_t(2000)), n_test = o.value("n_test", int64_t(200));
  MazeGenOptions g;
  g.n = o.value("size", g.n);
  g.min_path = o.value("min_path", g.min_path);
  g.open_walls = o.value("open_walls", g.open_walls);
  const uint64_t seed = o.value("seed", uint64_t(0));
  if (n_train < 1 || n_test < 1) throw std::invalid_argument("maze n_train and n_test must be >= 1");
  // test_data (set by `eqt eval --data FILE`): every maze of FILE is the held-out set.
  const std::string test_file = o.value("test_data", std::string());
  std::vector<GridExample> train, test;
  if (!file.empty()) {
    auto all = load_maze(file);
    g.n = all[0].n;
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].n != g.n)
        throw std::invalid_argument("maze file '" + file + "': maze " + std::to_string(i + 1) + " is " +
                                    std::to_string(all[i].n) + " x " + std::to_string(all[i].n) + ", the first is " +
                                    std::to_string(g.n) + " x " + std::to_string(g.n) + "; one size per file");
    std::tie(train, test) = split_examples(to_examples(all, to_example), n_test, "maze file '" + file + "'");
  } else {
    train = to_examples(generate_maze(n_train, seed * 2 + 1, g), to_example);
    if (test_file.empty()) test = to_examples(generate_maze(n_test, seed * 2 + 2, g), to_example);
  }
  if (!test_file.empty()) {
    auto mazes = load_maze(test_file);
    for (size_t i = 0; i < mazes.size(); ++i)
      if (mazes[i].n != g.n)
        throw std::invalid_argument("maze file '" + test_file + "': maze " + std::to_string(i + 1) + " is " +
                                    std::to_string(mazes[i].n) + " x " + std::to_string(mazes[i].n) +
                                    "; this run was trained on " + std::to_string(g.n) + " x " + std::to_string(g.n));
    test = to_examples(mazes, to_example);
  }
  Augment aug;
  const int64_t n = g.n;
  if (o.value("augment", true))
    aug = [n](GridExample& e, std::mt19937_64& rng) {
      auto m = from_example(e, n);
      dihedral_maze(m, int(rng() % 8));
      e = to_example(m);
    };
  nlohmann::json opts = {{"name", "maze"},         {"data", file},   {"size", g.n},   {"min_path", g.min_path},
                         {"open_walls", g.open_walls},       {"n_train", n_train}, {"n_test", n_test}, {"seed", seed},
                         {"augment", o.value("augment", true)}};
  if (!test_file.empty()) opts["test_data"] = test_file;
  return std::make_shared<GridTask>("maze", int64_t(kAlphabet.size()), std::move(train), std::move(test), aug,
                                    "moves", opts);
}

}  // namespace eqt::data
