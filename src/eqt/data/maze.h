// eqt/data/maze.h — N x N grid mazes: generator, BFS solver and verifier, loader for the
// `# SGo` text format, and the 8 dihedral augmentations (REFERENCE 6).
//
// A maze is N rows of N characters: '#' wall, ' ' open, 'S' start, 'G' goal, and in a
// solution 'o' marks the open cells of the path between them (S and G keep their letters).
// Moves are the 4 neighbours. The generator carves a perfect maze (randomised depth-first
// search on the odd-coordinate lattice), optionally knocks out a fraction of the remaining
// inner walls to make loops, then places S and G so that the shortest path has at least
// min_path moves and is the only shortest path: exact-match targets are then well defined.
// What it is not: a maze *game*; there are no keys, doors or weighted cells.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace eqt::data {

struct Maze {
  int64_t n = 0;
  std::string grid;      // n * n characters, row-major, without 'o'
  std::string solution;  // grid with 'o' on the path
  int64_t path_moves = 0;  // moves on the shortest path (the difficulty rating)
};

struct MazePath {
  int64_t moves = -1;           // -1: G unreachable
  int64_t count = 0;            // number of shortest paths, capped at 2
  std::vector<int64_t> cells;   // one shortest path, S .. G, as cell indices
};

// BFS from S to G on the open cells of `grid` ('o' counts as open).
MazePath solve_maze(int64_t n, const std::string& grid);
// `solution` marks, with 'o', exactly the inner cells of a shortest S-G path of `grid`.
bool is_valid_maze_solution(int64_t n, const std::string& grid, const std::string& solution);

struct MazeGenOptions {
  int64_t n = 11;          // side, >= 5
  int64_t min_path = 10;   // minimum moves from S to G
  double open_walls = 0.0;  // fraction of removable inner walls knocked out after carving (loops in the maze)
};
std::vector<Maze> generate_maze(int64_t count, uint64_t seed, const MazeGenOptions& o);

// Text: each maze is n lines of n characters from "# SGo", mazes separated by blank lines.
std::string to_text(const Maze& m, bool with_solution);
// Errors name the file and line: ragged or non-square blocks, other characters, not exactly
// one S and one G, no path, or an 'o' path that is not a shortest S-G path. Mazes given
// without 'o' are solved by BFS and must then have a unique shortest path.
std::vector<Maze> load_maze(const std::string& path);

// The k-th symmetry of the square (k in 0..7: 4 rotations, each optionally mirrored),
// applied to grid and solution alike.
void dihedral_maze(Maze& m, int k);

}  // namespace eqt::data
