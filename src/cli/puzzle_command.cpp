// cli/puzzle_command.cpp — `eqt sudoku generate|verify` and `eqt maze generate|verify`.
// generate writes seeded puzzles with their unique solutions (Sudoku: one "puzzle,solution"
// line each; mazes: `# SGo` blocks with the shortest path marked 'o'); verify re-solves
// every puzzle of a file with eqt's own solver (exact search, BFS) and fails on any that is
// malformed, unsolvable, ambiguous or whose given solution is wrong.
#include "cli/commands.h"
#include "cli/validators.h"

#include "eqt/data/maze.h"
#include "eqt/data/sudoku.h"
#include "eqt/io/text_file.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>

namespace eqt::cli {
namespace {

struct SudokuArgs {
  int count = 100;
  uint64_t seed = 0;
  std::optional<int> min_clues;  // default: data::least_clues(box)
  std::string box = "3x3";
  std::string out, file;
};

struct MazeArgs {
  int count = 100;
  uint64_t seed = 0;
  data::MazeGenOptions gen;
  std::string out, file;
};

void register_maze(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<MazeArgs>();
  auto* cmd = app.add_subcommand("maze", "Generate or verify maze files (# wall, space open, S start, G goal, o path)");
  cmd->require_subcommand(1);
  auto* gen = cmd->add_subcommand("generate", "Write COUNT mazes with their unique shortest path marked 'o'");
  gen->add_option("--count", a->count, "mazes")->capture_default_str()->check(between(1, 1e7));
  gen->add_option("--seed", a->seed, "random seed")->capture_default_str();
  gen->add_option("--size", a->gen.n, "side N of the N x N grid (odd sizes fill best)")->capture_default_str()->check(CLI::Range(5, 201));
  gen->add_option("--min-path", a->gen.min_path, "minimum moves from S to G")->capture_default_str()->check(CLI::PositiveNumber);
  gen->add_option("--open-walls", a->gen.open_walls, "fraction of inner walls removed after carving (0: a perfect maze)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  gen->add_option("--out", a->out, "output file")->required();
  gen->callback([a] {
    std::string text;
    for (const auto& m : data::generate_maze(a->count, a->seed, a->gen)) text += data::to_text(m, true) + "\n";
    io::write_text_file(a->out, text);
    std::printf("wrote %d mazes to %s\n", a->count, a->out.c_str());
  });
  auto* ver = cmd->add_subcommand("verify", "Check every maze in FILE: well formed, a path exists, a marked path is a shortest one");
  ver->add_option("file", a->file, "maze file")->required();
  ver->callback([a, &exit_code] {
    auto ms = data::load_maze(a->file);  // throws, naming file and line, on any bad maze
    int64_t lo = 1 << 30, hi = 0;
    for (const auto& m : ms) lo = std::min(lo, m.path_moves), hi = std::max(hi, m.path_moves);
    std::printf("%s: %zu mazes, all valid; shortest paths %lld..%lld moves\n", a->file.c_str(), ms.size(),
                (long long)lo, (long long)hi);
    exit_code = 0;
  });
}

void register_sudoku(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<SudokuArgs>();
  auto* cmd = app.add_subcommand("sudoku", "Generate or verify Sudoku puzzle files");
  cmd->require_subcommand(1);
  auto* gen = cmd->add_subcommand("generate", "Write COUNT unique-solution puzzles as 'puzzle,solution' lines");
  gen->add_option("--count", a->count, "puzzles")->capture_default_str()->check(between(1, 1e7));
  gen->add_option("--seed", a->seed, "random seed")->capture_default_str();
  gen->add_option("--min-clues", a->min_clues, "stop blanking at this many clues (default: the fewest a unique puzzle can have: 4, 8, 17 for 2x2, 2x3, 3x3)")
      ->check(CLI::Range(1, 80));
  gen->add_option("--box", a->box, "box shape ROWSxCOLS: 2x2 (4 x 4 grids), 2x3 (6 x 6), 3x3 (9 x 9)")->capture_default_str();
  gen->add_option("--out", a->out, "output file")->required();
  gen->callback([a] {
    const auto box = data::parse_box(a->box);
    const int clues = a->min_clues.value_or(data::least_clues(box));
    if (clues < data::least_clues(box) || clues >= box.cells())
      throw std::invalid_argument("--min-clues " + std::to_string(clues) + " must be in " +
                                  std::to_string(data::least_clues(box)) + ".." + std::to_string(box.cells() - 1) +
                                  " for box " + box.name());
    std::string text;
    for (const auto& p : data::generate_sudoku(a->count, a->seed, clues, box))
      text += data::to_string(p.puzzle) + "," + data::to_string(p.solution) + "\n";
    io::write_text_file(a->out, text);
    std::printf("wrote %d puzzles to %s\n", a->count, a->out.c_str());
  });
  auto* ver = cmd->add_subcommand("verify", "Check that every puzzle in FILE is well formed and has exactly one solution");
  ver->add_option("file", a->file, "puzzle file")->required();
  ver->add_option("--box", a->box, "box shape ROWSxCOLS of the file's puzzles")->capture_default_str();
  ver->callback([a, &exit_code] {
    auto ps = data::load_sudoku(a->file, data::parse_box(a->box));  // throws, naming file and line, on any bad puzzle
    int64_t lo = 1 << 30, hi = 0, clues = 0;
    for (const auto& p : ps) {
      lo = std::min(lo, p.rating), hi = std::max(hi, p.rating);
      for (auto d : p.puzzle) clues += d != 0;
    }
    std::printf("%s: %zu puzzles, all valid with a unique solution; clues %.1f on average; rating %lld..%lld search nodes\n",
                a->file.c_str(), ps.size(), ps.empty() ? 0.0 : double(clues) / double(ps.size()), (long long)lo,
                (long long)hi);
    exit_code = 0;
  });
}

}  // namespace

void register_puzzles(CLI::App& app, int& exit_code) {
  register_sudoku(app, exit_code);
  register_maze(app, exit_code);
}

}  // namespace eqt::cli
