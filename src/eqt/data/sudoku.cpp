// eqt/data/sudoku.cpp — see sudoku.h.
#include "eqt/data/sudoku.h"

#include "eqt/io/input_file.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <stdexcept>

namespace eqt::data {
namespace {

int box_of(int cell) { return (cell / 27) * 3 + (cell % 9) / 3; }

struct Search {
  uint16_t row[9]{}, col[9]{}, box[9]{};  // bit d set: digit d used
  Grid g{};
  SudokuSearch out;
  int limit = 2;
  std::mt19937_64* rng = nullptr;  // random digit order (generation), else ascending

  bool place_all(const Grid& p) {
    for (int c = 0; c < 81; ++c) {
      int d = p[c];
      if (d == 0) continue;
      uint16_t bit = uint16_t(1u << d);
      if ((row[c / 9] | col[c % 9] | box[box_of(c)]) & bit) return false;
      row[c / 9] |= bit, col[c % 9] |= bit, box[box_of(c)] |= bit;
      g[c] = uint8_t(d);
    }
    return true;
  }
  void dfs() {
    ++out.nodes;
    int best = -1, best_n = 10;
    uint16_t best_free = 0;
    for (int c = 0; c < 81; ++c) {
      if (g[c]) continue;
      uint16_t free = uint16_t(~(row[c / 9] | col[c % 9] | box[box_of(c)]) & 0x3FE);
      int n = __builtin_popcount(free);
      if (n < best_n) best = c, best_n = n, best_free = free;
      if (n == 0) return;  // dead end
    }
    if (best < 0) {  // complete
      if (out.solutions++ == 0) out.first = g;
      return;
    }
    int digits[9], k = 0;
    for (int d = 1; d <= 9; ++d)
      if (best_free & (1u << d)) digits[k++] = d;
    if (rng) std::shuffle(digits, digits + k, *rng);
    for (int i = 0; i < k && out.solutions < limit; ++i) {
      uint16_t bit = uint16_t(1u << digits[i]);
      row[best / 9] |= bit, col[best % 9] |= bit, box[box_of(best)] |= bit;
      g[best] = uint8_t(digits[i]);
      dfs();
      g[best] = 0;
      row[best / 9] &= uint16_t(~bit), col[best % 9] &= uint16_t(~bit), box[box_of(best)] &= uint16_t(~bit);
    }
  }
};

SudokuSearch run(const Grid& puzzle, int limit, std::mt19937_64* rng) {
  Search s;
  s.limit = limit;
  s.rng = rng;
  if (!s.place_all(puzzle)) return s.out;  // contradictory givens: no solution
  s.dfs();
  return s.out;
}

}  // namespace

SudokuSearch solve_sudoku(const Grid& puzzle, int limit) { return run(puzzle, limit, nullptr); }

bool is_valid_solution(const Grid& puzzle, const Grid& sol) {
  for (int c = 0; c < 81; ++c)
    if (sol[c] < 1 || sol[c] > 9 || (puzzle[c] && puzzle[c] != sol[c])) return false;
  for (int u = 0; u < 9; ++u) {
    uint16_t r = 0, cl = 0, b = 0;
    for (int i = 0; i < 9; ++i) {
      r |= uint16_t(1u << sol[u * 9 + i]);
      cl |= uint16_t(1u << sol[i * 9 + u]);
      b |= uint16_t(1u << sol[(u / 3) * 27 + (u % 3) * 3 + (i / 3) * 9 + i % 3]);
    }
    if (r != 0x3FE || cl != 0x3FE || b != 0x3FE) return false;
  }
  return true;
}

std::vector<SudokuPuzzle> generate_sudoku(int count, uint64_t seed, int min_clues) {
  std::mt19937_64 rng(seed);
  std::vector<SudokuPuzzle> out;
  for (int n = 0; n < count; ++n) {
    SudokuPuzzle p;
    p.solution = run(Grid{}, 1, &rng).first;  // a random complete grid
    p.puzzle = p.solution;
    std::array<int, 81> order;
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    int clues = 81;
    for (int c : order) {
      if (clues <= min_clues) break;
      uint8_t keep = p.puzzle[c];
      p.puzzle[c] = 0;
      if (solve_sudoku(p.puzzle, 2).solutions != 1) p.puzzle[c] = keep;
      else --clues;
    }
    p.rating = solve_sudoku(p.puzzle, 2).nodes;
    out.push_back(p);
  }
  return out;
}

std::string to_string(const Grid& g) {
  std::string s(81, '.');
  for (int c = 0; c < 81; ++c)
    if (g[c]) s[c] = char('0' + g[c]);
  return s;
}

std::vector<SudokuPuzzle> load_sudoku(const std::string& path) {
  auto in = io::open_input_file(path, "sudoku file");
  std::vector<SudokuPuzzle> out;
  std::string line;
  for (int ln = 1; std::getline(in, line); ++ln) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto where = path + ":" + std::to_string(ln) + ": ";
    auto parse = [&](const std::string& s, const char* what) {
      if (s.size() != 81)
        throw std::invalid_argument(where + what + " has " + std::to_string(s.size()) + " characters, expected 81");
      Grid g{};
      for (int c = 0; c < 81; ++c) {
        char ch = s[c];
        if (ch == '.' || ch == '0') continue;
        if (ch < '1' || ch > '9')
          throw std::invalid_argument(where + "invalid character '" + std::string(1, ch) + "' at column " +
                                      std::to_string(c + 1) + "; expected 1-9, '.' or '0'");
        g[c] = uint8_t(ch - '0');
      }
      return g;
    };
    auto comma = line.find(',');
    SudokuPuzzle p;
    p.puzzle = parse(line.substr(0, comma), "puzzle");
    auto s = solve_sudoku(p.puzzle, 2);
    if (s.solutions == 0) throw std::invalid_argument(where + "puzzle has no solution");
    if (s.solutions > 1) throw std::invalid_argument(where + "puzzle has more than one solution");
    p.solution = s.first;
    p.rating = s.nodes;
    if (comma != std::string::npos) {
      Grid given = parse(line.substr(comma + 1), "solution");
      if (given != p.solution) throw std::invalid_argument(where + "the given solution is not the puzzle's solution");
    }
    out.push_back(p);
  }
  if (out.empty())
    throw std::invalid_argument("sudoku file '" + path + "' holds no puzzles; expected at least one");
  return out;
}

void augment_sudoku(SudokuPuzzle& p, std::mt19937_64& rng) {
  std::array<uint8_t, 10> digit{};
  std::array<int, 9> d;
  std::iota(d.begin(), d.end(), 1);
  std::shuffle(d.begin(), d.end(), rng);
  for (int i = 0; i < 9; ++i) digit[i + 1] = uint8_t(d[i]);
  auto perm3 = [&] {
    std::array<int, 3> a{0, 1, 2};
    std::shuffle(a.begin(), a.end(), rng);
    return a;
  };
  // New row r comes from old row rows[r]; likewise columns.
  std::array<int, 9> rows, cols;
  auto bands = perm3(), stacks = perm3();
  for (int b = 0; b < 3; ++b) {
    auto in_band = perm3(), in_stack = perm3();
    for (int i = 0; i < 3; ++i) {
      rows[b * 3 + i] = bands[b] * 3 + in_band[i];
      cols[b * 3 + i] = stacks[b] * 3 + in_stack[i];
    }
  }
  const bool transpose = std::bernoulli_distribution(0.5)(rng);
  auto map = [&](const Grid& g) {
    Grid o{};
    for (int r = 0; r < 9; ++r)
      for (int c = 0; c < 9; ++c) {
        int src = transpose ? cols[c] * 9 + rows[r] : rows[r] * 9 + cols[c];
        o[r * 9 + c] = digit[g[src]];
      }
    return o;
  };
  p.puzzle = map(p.puzzle);
  p.solution = map(p.solution);
}

}  // namespace eqt::data
