// Mazes: BFS against hand-counted paths, generated mazes verified by BFS and fixed by seed,
// dihedral symmetries keep solutions valid, loader errors name file and line, and the maze
// task's targets and difficulty buckets.
#include "eqt/data/make_task.h"
#include "eqt/data/maze.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

using namespace eqt;

namespace {

std::string write(const std::string& name, const std::string& text) {
  const auto path = ::testing::TempDir() + "eqt_maze_" + name;
  std::ofstream(path) << text;
  return path;
}

std::string load_error(const std::string& name, const std::string& text) {
  const auto path = write(name, text);
  try {
    data::load_maze(path);
  } catch (const std::invalid_argument& e) {
    std::printf("  rejected: %s\n", e.what());
    return e.what();
  }
  return "";
}

// 5 x 5, S top-left, G bottom-right of the open 3 x 3 interior: C(4, 2) = 6 shortest paths of 4 moves.
const std::string kOpen = "#####"
                          "#S  #"
                          "#   #"
                          "#  G#"
                          "#####";
// A corridor: one path of 6 moves.
const std::string kCorridor = "#####"
                              "#S  #"
                              "### #"
                              "#G  #"
                              "#####";

TEST(Maze, BfsCountsShortestPaths) {
  auto open = data::solve_maze(5, kOpen);
  EXPECT_EQ(open.moves, 4);
  EXPECT_EQ(open.count, 2);  // capped at 2: "several"
  auto corridor = data::solve_maze(5, kCorridor);
  EXPECT_EQ(corridor.moves, 6);
  EXPECT_EQ(corridor.count, 1);
  ASSERT_EQ(corridor.cells.size(), 7u);
  std::string walled = kCorridor;
  walled[13] = '#';  // block the corridor
  EXPECT_EQ(data::solve_maze(5, walled).moves, -1);
  const std::string solved = "#####"
                             "#Soo#"
                             "###o#"
                             "#Goo#"
                             "#####";
  EXPECT_TRUE(data::is_valid_maze_solution(5, kCorridor, solved));
  std::string detour = solved;
  detour[12] = 'o';  // a wall marked as path
  EXPECT_FALSE(data::is_valid_maze_solution(5, kCorridor, detour));
}

TEST(Maze, GeneratedMazesAreUniqueShortestPathsFixedBySeed) {
  data::MazeGenOptions o;
  o.n = 11;
  o.min_path = 12;
  for (double loops : {0.0, 0.3}) {
    o.open_walls = loops;
    auto a = data::generate_maze(30, 9, o), b = data::generate_maze(30, 9, o), c = data::generate_maze(30, 10, o);
    int64_t lo = 1 << 30, hi = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      auto p = data::solve_maze(11, a[i].grid);
      ASSERT_EQ(p.count, 1) << data::to_text(a[i], false);
      EXPECT_EQ(p.moves, a[i].path_moves);
      EXPECT_GE(p.moves, 12);
      EXPECT_TRUE(data::is_valid_maze_solution(11, a[i].grid, a[i].solution));
      EXPECT_EQ(a[i].solution, b[i].solution);
      lo = std::min(lo, p.moves), hi = std::max(hi, p.moves);
    }
    EXPECT_NE(a[0].grid, c[0].grid);
    std::printf("  loops %.1f: path lengths %lld..%lld moves\n", loops, (long long)lo, (long long)hi);
  }
}

TEST(Maze, DihedralSymmetriesKeepSolutionsValid) {
  data::MazeGenOptions o;
  o.n = 9;
  o.min_path = 8;
  auto m = data::generate_maze(1, 3, o)[0];
  std::set<std::string> seen;
  for (int k = 0; k < 8; ++k) {
    auto t = m;
    data::dihedral_maze(t, k);
    EXPECT_TRUE(data::is_valid_maze_solution(9, t.grid, t.solution)) << k;
    EXPECT_EQ(data::solve_maze(9, t.grid).moves, m.path_moves);
    seen.insert(t.solution);
  }
  EXPECT_EQ(seen.size(), 8u);  // a random maze has no symmetry of its own
}

TEST(Maze, LoaderRoundTripsAndNamesBadLines) {
  data::MazeGenOptions o;
  o.n = 7;
  o.min_path = 6;
  auto ms = data::generate_maze(3, 1, o);
  std::string text;
  for (const auto& m : ms) text += data::to_text(m, true) + "\n";
  auto back = data::load_maze(write("ok.txt", text));
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(back[i].solution, ms[i].solution);

  auto rows = [](const std::string& g) {
    std::string t;
    for (int r = 0; r < 5; ++r) t += g.substr(size_t(r * 5), 5) + "\n";
    return t;
  };
  EXPECT_NE(load_error("ragged.txt", "#####\n#S  #\n### \n#G  #\n#####\n").find("ragged.txt:3:"), std::string::npos);
  EXPECT_NE(load_error("char.txt", "\n#####\n#S  #\n##x #\n#G  #\n#####\n").find("char.txt:4:"), std::string::npos);
  EXPECT_NE(load_error("twos.txt", rows(kCorridor) + "\n" + rows("#####"
                                                                 "#S S#"
                                                                 "### #"
                                                                 "#G  #"
                                                                 "#####"))
                .find("twos.txt:7:"),
            std::string::npos);
  std::string walled = kCorridor;
  walled[13] = '#';
  EXPECT_NE(load_error("nopath.txt", rows(walled)).find("no path"), std::string::npos);
  EXPECT_NE(load_error("several.txt", rows(kOpen)).find("several shortest paths"), std::string::npos);
  EXPECT_NE(load_error("longer.txt", rows("#####"
                                          "#Soo#"
                                          "#ooo#"
                                          "#ooG#"
                                          "#####"))
                .find("not a shortest path"),
            std::string::npos);
}

TEST(Maze, TaskTargetsAndDifficultyBuckets) {
  auto task = data::make_task("maze", {{"size", 9}, {"min_path", 6}, {"n_train", 40}, {"n_test", 30}, {"seed", 2}});
  EXPECT_EQ(task->seq_len(), 81);
  EXPECT_EQ(task->vocab(), 5);
  EXPECT_FALSE(task->causal());
  auto names = task->bucket_names();
  ASSERT_EQ(names.size(), 3u);
  int64_t seen = 0;
  for (const auto& b : task->eval_batches(8)) {
    seen += b.tokens.size(0);
    ASSERT_TRUE(b.bucket.defined());
    EXPECT_TRUE((b.bucket >= 0).all().item<bool>() && (b.bucket < 3).all().item<bool>());
    // Targets exist exactly at open cells (token 1) and are 1 (off the path) or 4 (on it).
    auto asked = b.targets != data::kIgnore;
    EXPECT_TRUE(asked.eq(b.tokens == 1).all().item<bool>());
    auto t = b.targets.masked_select(asked);
    EXPECT_TRUE(((t == 1) | (t == 4)).all().item<bool>());
  }
  EXPECT_EQ(seen, 30);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  auto tb = task->train_batch(16, gen);
  EXPECT_EQ(tb.tokens.sizes(), (std::vector<int64_t>{16, 81}));
  std::printf("  buckets: %s | %s | %s\n", names[0].c_str(), names[1].c_str(), names[2].c_str());
}

}  // namespace
