// eqt/data/sudoku.h — 9x9 Sudoku: exact solver, unique-puzzle generator, file loader and
// the standard augmentations (REFERENCE 6).
//
// A grid is 81 digits, row-major, 0 for a blank. The solver is depth-first search with
// bitmasks, always branching on the blank with the fewest candidates; it counts solutions
// (stopping at a limit, so uniqueness costs one search) and the search nodes it visited,
// which is the difficulty rating. The generator fills a random grid, then blanks cells in
// random order while the puzzle keeps exactly one solution; everything follows from the seed.
// What it is not: a human-style technique grader.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace eqt::data {

using Grid = std::array<uint8_t, 81>;

struct SudokuSearch {
  int solutions = 0;     // found, up to the limit
  int64_t nodes = 0;     // search nodes visited (difficulty rating)
  Grid first{};          // the first solution found
};

SudokuSearch solve_sudoku(const Grid& puzzle, int limit = 2);
bool is_valid_solution(const Grid& puzzle, const Grid& solution);  // complete, consistent, agrees

struct SudokuPuzzle {
  Grid puzzle{}, solution{};
  int64_t rating = 0;  // search nodes of the solver
};

// `count` unique-solution puzzles; the same seed gives the same puzzles.
std::vector<SudokuPuzzle> generate_sudoku(int count, uint64_t seed, int min_clues = 17);

std::string to_string(const Grid& g);  // 81 characters, '.' for blanks
// Parses a file of lines "81 chars[,81 chars]" ('.' or '0' blank). Each puzzle must have
// exactly one solution (and match its given one). Errors name the file and the line.
std::vector<SudokuPuzzle> load_sudoku(const std::string& path);

// Applies a random validity-preserving transform to puzzle and solution alike: digit
// relabelling, transpose, permutation of bands, of rows in a band, of stacks, of columns.
void augment_sudoku(SudokuPuzzle& p, std::mt19937_64& rng);

}  // namespace eqt::data
