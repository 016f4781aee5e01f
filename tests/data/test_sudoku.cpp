// Sudoku solver, generator, loader and augmentations.
#include "eqt/data/make_task.h"
#include "eqt/data/sudoku.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace eqt;

namespace {

data::Grid grid(const std::string& s) {
  data::Grid g(s.size(), 0);
  for (size_t c = 0; c < s.size(); ++c) g[c] = s[c] == '.' ? 0 : uint8_t(s[c] - '0');
  return g;
}

// A well-known puzzle and its published solution.
const char* kPuzzle = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";
const char* kSolution = "534678912672195348198342567859761423426853791713924856961537284287419635345286179";

TEST(Sudoku, SolvesAKnownPuzzle) {
  auto s = data::solve_sudoku(grid(kPuzzle));
  EXPECT_EQ(s.solutions, 1);
  EXPECT_EQ(data::to_string(s.first), kSolution);
  EXPECT_TRUE(data::is_valid_solution(grid(kPuzzle), s.first));
}

TEST(Sudoku, CountsMultipleAndNoSolutions) {
  auto open = grid(kPuzzle);
  for (int c = 0; c < 27; ++c) open[c] = 0;  // too few clues: many solutions
  EXPECT_EQ(data::solve_sudoku(open, 2).solutions, 2);
  auto clash = grid(kPuzzle);
  clash[2] = 5;  // two 5s in the first row
  EXPECT_EQ(data::solve_sudoku(clash, 2).solutions, 0);
  auto wrong = grid(kSolution);
  std::swap(wrong[0], wrong[1]);
  EXPECT_FALSE(data::is_valid_solution(grid(kPuzzle), wrong));
}

TEST(Sudoku, GeneratedPuzzlesAreUniqueAndFixedBySeed) {
  auto a = data::generate_sudoku(20, 7), b = data::generate_sudoku(20, 7), c = data::generate_sudoku(20, 8);
  int64_t min_rating = 1 << 30, max_rating = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    auto s = data::solve_sudoku(a[i].puzzle, 2);
    ASSERT_EQ(s.solutions, 1);
    EXPECT_EQ(s.first, a[i].solution);
    EXPECT_TRUE(data::is_valid_solution(a[i].puzzle, a[i].solution));
    EXPECT_EQ(a[i].puzzle, b[i].puzzle);
    min_rating = std::min(min_rating, a[i].rating);
    max_rating = std::max(max_rating, a[i].rating);
  }
  std::printf("  ratings (search nodes) from %lld to %lld\n", (long long)min_rating, (long long)max_rating);
  EXPECT_NE(a[0].puzzle, c[0].puzzle);
}

TEST(Sudoku, AugmentationsKeepPuzzlesValidAndUnique) {
  std::mt19937_64 rng(3);
  auto ps = data::generate_sudoku(5, 1);
  for (auto p : ps) {
    auto before = p.puzzle;
    data::augment_sudoku(p, rng);
    EXPECT_NE(p.puzzle, before);
    auto s = data::solve_sudoku(p.puzzle, 2);
    EXPECT_EQ(s.solutions, 1);
    EXPECT_EQ(s.first, p.solution);
  }
}

void expect_load_error(const std::string& content, const std::string& words) {
  const std::string path = ::testing::TempDir() + "eqt_sudoku_bad.txt";
  std::ofstream(path) << content;
  try {
    data::load_sudoku(path);
    FAIL() << "accepted: " << content;
  } catch (const std::invalid_argument& e) {
    std::printf("  rejected: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find(path + ":2:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(Sudoku, LoaderNamesFileAndLine) {
  const std::string ok = std::string(kPuzzle) + "," + kSolution + "\n";
  const std::string path = ::testing::TempDir() + "eqt_sudoku_ok.txt";
  std::ofstream(path) << ok << std::string(kPuzzle) << "\n";
  EXPECT_EQ(data::load_sudoku(path).size(), 2u);
  expect_load_error(ok + std::string(kPuzzle).substr(1) + "\n", "80 characters");
  std::string bad = kPuzzle;
  bad[4] = 'x';
  expect_load_error(ok + bad + "\n", "invalid character 'x'");
  std::string open = kPuzzle;
  for (int c = 0; c < 27; ++c) open[c] = '.';
  expect_load_error(ok + open + "\n", "more than one solution");
  std::string wrong = kSolution;
  std::swap(wrong[0], wrong[1]);
  expect_load_error(ok + std::string(kPuzzle) + "," + wrong + "\n", "not the puzzle's solution");
}

// The task asks for the digit of every blank cell and nothing else; augmented training
// puzzles still carry valid solutions.
TEST(Sudoku, TaskTargetsAreTheBlanks) {
  auto task = data::make_task("sudoku", {{"n_train", 20}, {"n_test", 12}, {"seed", 4}});
  EXPECT_EQ(task->seq_len(), 81);
  EXPECT_EQ(task->vocab(), 10);
  int64_t seen = 0;
  for (const auto& b : task->eval_batches(5)) {
    seen += b.tokens.size(0);
    auto asked = b.targets != data::kIgnore;
    EXPECT_TRUE(asked.eq(b.tokens == 0).all().item<bool>());
  }
  EXPECT_EQ(seen, 12);
  EXPECT_EQ(task->bucket_names().size(), 3u);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto b = task->train_batch(8, gen);
  for (int64_t r = 0; r < 8; ++r) {
    data::Grid puzzle(81, 0), solution(81, 0);
    for (int c = 0; c < 81; ++c) {
      const int64_t tok = b.tokens[r][c].item<int64_t>(), tgt = b.targets[r][c].item<int64_t>();
      puzzle[size_t(c)] = uint8_t(tok);
      solution[size_t(c)] = uint8_t(tgt == data::kIgnore ? tok : tgt);
    }
    EXPECT_TRUE(data::is_valid_solution(puzzle, solution)) << r;
  }
}

// Every box shape: generated puzzles are unique, solved by the solver, rated, and hold the
// clue count asked for; the shuffles keep them valid (and never transpose a 2 x 3 box).
TEST(Sudoku, EveryBoxShapeGeneratesUniquePuzzlesAndShufflesThem) {
  for (const std::string shape : {"2x2", "2x3", "3x2", "3x3"}) {
    const auto box = data::parse_box(shape);
    const int clues = data::least_clues(box) + 2;
    auto ps = data::generate_sudoku(10, 5, clues, box);
    std::mt19937_64 rng(9);
    int64_t given = 0;
    for (auto p : ps) {
      ASSERT_EQ(int(p.puzzle.size()), box.cells()) << shape;
      auto s = data::solve_sudoku(p.puzzle, 2, box);
      ASSERT_EQ(s.solutions, 1) << shape;
      EXPECT_EQ(s.first, p.solution) << shape;
      EXPECT_TRUE(data::is_valid_solution(p.puzzle, p.solution, box)) << shape;
      for (auto d : p.puzzle) given += d != 0;
      for (int k = 0; k < 5; ++k) {
        data::augment_sudoku(p, rng, box);
        auto t = data::solve_sudoku(p.puzzle, 2, box);
        EXPECT_EQ(t.solutions, 1) << shape;
        EXPECT_TRUE(data::is_valid_solution(p.puzzle, p.solution, box)) << shape << " after a shuffle";
      }
    }
    std::printf("  %s: %.1f clues on average (floor %d)\n", shape.c_str(), double(given) / 10.0, clues);
    EXPECT_GE(given, 10 * clues) << shape;
  }
  // A grid that breaks a 2 x 3 box but no row or column is refused.
  const auto box = data::parse_box("2x3");
  data::Grid latin(36);
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 6; ++c) latin[size_t(r * 6 + c)] = uint8_t((r + c) % 6 + 1);  // rows, columns fine
  EXPECT_FALSE(data::is_valid_solution(data::Grid(36, 0), latin, box));
  for (const char* bad : {"3x4", "1x1", "2", "x3", "2x", "axb", "2x3x4"})
    EXPECT_THROW(data::parse_box(bad), std::invalid_argument) << bad;
}

// The task on 6 x 6 grids: 36 tokens, the blanks asked for, a 6 x 6 file read with its box.
TEST(Sudoku, TaskOnSixBySixGrids) {
  auto task = data::make_task("sudoku", {{"n_train", 10}, {"n_test", 4}, {"seed", 2}, {"box", "2x3"}});
  EXPECT_EQ(task->seq_len(), 36);
  EXPECT_EQ(task->options()["box"], "2x3");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto b = task->train_batch(4, gen);
  EXPECT_EQ(b.tokens.size(1), 36);
  EXPECT_LE(b.tokens.max().item<int64_t>(), 6);
  auto ps = data::generate_sudoku(3, 1, 10, data::parse_box("2x3"));
  const std::string path = ::testing::TempDir() + "eqt_sudoku_6.txt";
  {
    std::ofstream f(path);
    for (const auto& p : ps) f << data::to_string(p.puzzle) << "\n";
  }
  EXPECT_EQ(data::load_sudoku(path, data::parse_box("2x3")).size(), 3u);
  EXPECT_THROW(data::load_sudoku(path), std::invalid_argument);  // 36 characters are no 9 x 9 grid
  EXPECT_THROW(data::make_task("sudoku", {{"box", "2x3"}, {"min_clues", 3}}), std::invalid_argument);
}

}  // namespace
