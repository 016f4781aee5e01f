// cli/sudoku_command.cpp — `eqt sudoku generate` and `eqt sudoku verify`.
// generate writes one "puzzle,solution" line per puzzle (seeded, unique solutions);
// verify re-solves every line of a file with eqt's own solver and fails on any puzzle
// that is malformed, unsolvable, ambiguous or whose given solution is wrong.
#include "cli/commands.h"

#include "eqt/data/sudoku.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace eqt::cli {
namespace {

struct SudokuArgs {
  int count = 100;
  uint64_t seed = 0;
  int min_clues = 17;
  std::string out, file;
};

}  // namespace

void register_sudoku(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<SudokuArgs>();
  auto* cmd = app.add_subcommand("sudoku", "Generate or verify Sudoku puzzle files");
  cmd->require_subcommand(1);
  auto* gen = cmd->add_subcommand("generate", "Write COUNT unique-solution puzzles as 'puzzle,solution' lines");
  gen->add_option("--count", a->count, "puzzles")->capture_default_str()->check(CLI::PositiveNumber);
  gen->add_option("--seed", a->seed, "random seed")->capture_default_str();
  gen->add_option("--min-clues", a->min_clues, "stop blanking at this many clues")->capture_default_str()->check(CLI::Range(17, 81));
  gen->add_option("--out", a->out, "output file")->required();
  gen->callback([a] {
    auto ps = data::generate_sudoku(a->count, a->seed, a->min_clues);
    const std::string tmp = a->out + ".tmp";
    {
      std::ofstream out(tmp);
      if (!out) throw std::invalid_argument("cannot write '" + a->out + "'");
      for (const auto& p : ps) out << data::to_string(p.puzzle) << "," << data::to_string(p.solution) << "\n";
    }
    std::rename(tmp.c_str(), a->out.c_str());
    std::printf("wrote %d puzzles to %s\n", a->count, a->out.c_str());
  });
  auto* ver = cmd->add_subcommand("verify", "Check that every puzzle in FILE is well formed and has exactly one solution");
  ver->add_option("file", a->file, "puzzle file")->required();
  ver->callback([a, &exit_code] {
    auto ps = data::load_sudoku(a->file);  // throws, naming file and line, on any bad puzzle
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

}  // namespace eqt::cli
