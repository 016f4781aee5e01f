// eqt/data/sudoku.h — Sudoku of any box shape with at most 9 digits (2 x 2: 4 x 4 grids,
// 2 x 3: 6 x 6, 3 x 3: 9 x 9): exact solver, unique-puzzle generator, file loader and the
// rule-preserving shuffles (REFERENCE 6).
//
// A grid is N x N digits, N = box rows x box columns, row-major, 0 for a blank; the grid is
// split into bands of `rows` rows and stacks of `cols` columns, and each box is one band's
// part of one stack. The solver is depth-first search with bitmasks, always branching on
// the blank with the fewest candidates; it counts solutions (stopping at a limit, so
// uniqueness costs one search) and the search nodes it visited, which is the difficulty
// rating. The generator fills a random grid, then blanks cells in random order while the
// puzzle keeps exactly one solution, down to `min_clues` (the clue-count difficulty);
// everything follows from the seed (9 x 9 puzzles are those of earlier versions).
// What it is not: a human-style technique grader, or larger than 9 digits (the file format
// has one character per cell).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace eqt::data {

struct Box {
  int rows = 3, cols = 3;  // of one box; the grid is N x N with N = rows * cols
  int n() const { return rows * cols; }
  int cells() const { return n() * n(); }
  std::string name() const { return std::to_string(rows) + "x" + std::to_string(cols); }
  bool operator==(const Box& o) const { return rows == o.rows && cols == o.cols; }
};
// "2x3" -> {2, 3}; std::invalid_argument naming the value unless N = rows * cols is in 2..9.
Box parse_box(const std::string& s);
// The fewest clues a unique puzzle of this shape can have, as far as known (4, 8, 17 for
// 2x2, 2x3, 3x3; 1 otherwise): the generator's default floor.
int least_clues(const Box& box);

using Grid = std::vector<uint8_t>;  // (N * N) digits, 0 blank

struct SudokuSearch {
  int solutions = 0;     // found, up to the limit
  int64_t nodes = 0;     // search nodes visited (difficulty rating)
  Grid first;            // the first solution found
};

SudokuSearch solve_sudoku(const Grid& puzzle, int limit = 2, const Box& box = {});
bool is_valid_solution(const Grid& puzzle, const Grid& solution, const Box& box = {});  // complete, consistent, agrees

struct SudokuPuzzle {
  Grid puzzle, solution;
  int64_t rating = 0;  // search nodes of the solver
};

// `count` unique-solution puzzles; the same seed gives the same puzzles.
std::vector<SudokuPuzzle> generate_sudoku(int count, uint64_t seed, int min_clues = 17, const Box& box = {});

std::string to_string(const Grid& g);  // N * N characters, '.' for blanks
// Parses a file of lines "N*N chars[,N*N chars]" ('.' or '0' blank) of the given box shape.
// Each puzzle must have exactly one solution (and match its given one). Errors name the
// file and the line.
std::vector<SudokuPuzzle> load_sudoku(const std::string& path, const Box& box = {});

// Applies a random rule-preserving shuffle to puzzle and solution alike: digit relabelling,
// permutation of bands and of the rows in each band, of stacks and of the columns in each
// stack, and (square boxes only) a transpose with probability 1/2.
void augment_sudoku(SudokuPuzzle& p, std::mt19937_64& rng, const Box& box = {});

}  // namespace eqt::data
