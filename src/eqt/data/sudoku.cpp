// eqt/data/sudoku.cpp — see sudoku.h.
#include "eqt/data/sudoku.h"

#include "eqt/io/input_file.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <stdexcept>

namespace eqt::data {

Box parse_box(const std::string& s) {
  const auto x = s.find('x');
  Box b{0, 0};
  try {
    size_t used = 0;
    if (x != std::string::npos && x > 0 && x + 1 < s.size()) {
      b.rows = std::stoi(s.substr(0, x), &used);
      if (used != x) b.rows = 0;
      b.cols = std::stoi(s.substr(x + 1), &used);
      if (used != s.size() - x - 1) b.cols = 0;
    }
  } catch (...) {
    b = {0, 0};
  }
  if (b.rows < 1 || b.cols < 1 || b.n() < 2 || b.n() > 9)
    throw std::invalid_argument("sudoku box '" + s + "' is invalid; expected ROWSxCOLS with 2 <= ROWS * COLS <= 9, "
                                "e.g. 2x2, 2x3, 3x3");
  return b;
}

int least_clues(const Box& box) {
  if (box == Box{2, 2}) return 4;
  if (box == Box{2, 3} || box == Box{3, 2}) return 8;
  if (box == Box{3, 3}) return 17;
  return 1;
}

namespace {

struct Search {
  Box box;
  int N, C;
  std::vector<uint16_t> row, col, blk;  // bit d set: digit d used
  std::vector<int> row_of, col_of, box_of;
  Grid g;
  SudokuSearch out;
  int limit = 2;
  std::mt19937_64* rng = nullptr;  // random digit order (generation), else ascending

  explicit Search(const Box& b) : box(b), N(b.n()), C(b.cells()), row(size_t(N)), col(size_t(N)), blk(size_t(N)),
                                  row_of(size_t(C)), col_of(size_t(C)), box_of(size_t(C)), g(size_t(C), 0) {
    for (int c = 0; c < C; ++c) {
      row_of[c] = c / N, col_of[c] = c % N;
      box_of[c] = (row_of[c] / b.rows) * (N / b.cols) + col_of[c] / b.cols;
    }
  }
  uint16_t used(int c) const { return row[row_of[c]] | col[col_of[c]] | blk[box_of[c]]; }
  void set(int c, int d) {
    const uint16_t bit = uint16_t(1u << d);
    row[row_of[c]] |= bit, col[col_of[c]] |= bit, blk[box_of[c]] |= bit;
    g[c] = uint8_t(d);
  }
  void unset(int c, int d) {
    const uint16_t bit = uint16_t(~(1u << d));
    row[row_of[c]] &= bit, col[col_of[c]] &= bit, blk[box_of[c]] &= bit;
    g[c] = 0;
  }
  bool place_all(const Grid& p) {
    for (int c = 0; c < C; ++c) {
      const int d = p[c];
      if (d == 0) continue;
      if (d > N || (used(c) & (1u << d))) return false;
      set(c, d);
    }
    return true;
  }
  void dfs() {
    ++out.nodes;
    const uint16_t all = uint16_t(((1u << N) - 1) << 1);  // bits 1..N
    int best = -1, best_n = N + 1;
    uint16_t best_free = 0;
    for (int c = 0; c < C; ++c) {
      if (g[c]) continue;
      const uint16_t free = uint16_t(~used(c) & all);
      const int n = __builtin_popcount(free);
      if (n < best_n) best = c, best_n = n, best_free = free;
      if (n == 0) return;  // dead end
    }
    if (best < 0) {  // complete
      if (out.solutions++ == 0) out.first = g;
      return;
    }
    int digits[9], k = 0;
    for (int d = 1; d <= N; ++d)
      if (best_free & (1u << d)) digits[k++] = d;
    if (rng) std::shuffle(digits, digits + k, *rng);
    for (int i = 0; i < k && out.solutions < limit; ++i) {
      set(best, digits[i]);
      dfs();
      unset(best, digits[i]);
    }
  }
};

SudokuSearch run(const Grid& puzzle, int limit, std::mt19937_64* rng, const Box& box) {
  Search s(box);
  s.limit = limit;
  s.rng = rng;
  if (int(puzzle.size()) != box.cells() || !s.place_all(puzzle)) return s.out;  // contradictory givens: no solution
  s.dfs();
  return s.out;
}

}  // namespace

SudokuSearch solve_sudoku(const Grid& puzzle, int limit, const Box& box) { return run(puzzle, limit, nullptr, box); }

bool is_valid_solution(const Grid& puzzle, const Grid& sol, const Box& box) {
  const int N = box.n(), C = box.cells();
  if (int(sol.size()) != C || int(puzzle.size()) != C) return false;
  for (int c = 0; c < C; ++c)
    if (sol[c] < 1 || sol[c] > N || (puzzle[c] && puzzle[c] != sol[c])) return false;
  Search s(box);
  for (int c = 0; c < C; ++c) {
    if (s.used(c) & (1u << sol[c])) return false;  // a repeat in its row, column or box
    s.set(c, sol[c]);
  }
  return true;
}

std::vector<SudokuPuzzle> generate_sudoku(int count, uint64_t seed, int min_clues, const Box& box) {
  std::mt19937_64 rng(seed);
  const int C = box.cells();
  std::vector<SudokuPuzzle> out;
  for (int n = 0; n < count; ++n) {
    SudokuPuzzle p;
    p.solution = run(Grid(size_t(C), 0), 1, &rng, box).first;  // a random complete grid
    p.puzzle = p.solution;
    std::vector<int> order(static_cast<size_t>(C));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    int clues = C;
    for (int c : order) {
      if (clues <= min_clues) break;
      uint8_t keep = p.puzzle[c];
      p.puzzle[c] = 0;
      if (solve_sudoku(p.puzzle, 2, box).solutions != 1) p.puzzle[c] = keep;
      else --clues;
    }
    p.rating = solve_sudoku(p.puzzle, 2, box).nodes;
    out.push_back(p);
  }
  return out;
}

std::string to_string(const Grid& g) {
  std::string s(g.size(), '.');
  for (size_t c = 0; c < g.size(); ++c)
    if (g[c]) s[c] = char('0' + g[c]);
  return s;
}

std::vector<SudokuPuzzle> load_sudoku(const std::string& path, const Box& box) {
  auto in = io::open_input_file(path, "sudoku file");
  const int N = box.n(), C = box.cells();
  std::vector<SudokuPuzzle> out;
  std::string line;
  for (int ln = 1; std::getline(in, line); ++ln) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto where = path + ":" + std::to_string(ln) + ": ";
    auto parse = [&](const std::string& s, const char* what) {
      if (int(s.size()) != C)
        throw std::invalid_argument(where + what + " has " + std::to_string(s.size()) + " characters, expected " +
                                    std::to_string(C) + " (a " + std::to_string(N) + " x " + std::to_string(N) +
                                    " grid, box " + box.name() + ")");
      Grid g(size_t(C), 0);
      for (int c = 0; c < C; ++c) {
        char ch = s[c];
        if (ch == '.' || ch == '0') continue;
        if (ch < '1' || ch > char('0' + N))
          throw std::invalid_argument(where + "invalid character '" + std::string(1, ch) + "' at column " +
                                      std::to_string(c + 1) + "; expected 1-" + std::to_string(N) + ", '.' or '0'");
        g[c] = uint8_t(ch - '0');
      }
      return g;
    };
    auto comma = line.find(',');
    SudokuPuzzle p;
    p.puzzle = parse(line.substr(0, comma), "puzzle");
    auto s = solve_sudoku(p.puzzle, 2, box);
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

void augment_sudoku(SudokuPuzzle& p, std::mt19937_64& rng, const Box& box) {
  const int N = box.n(), bands = N / box.rows, stacks = N / box.cols;
  std::vector<uint8_t> digit(static_cast<size_t>(N) + 1, 0);
  std::vector<int> d(static_cast<size_t>(N));
  std::iota(d.begin(), d.end(), 1);
  std::shuffle(d.begin(), d.end(), rng);
  for (int i = 0; i < N; ++i) digit[size_t(i) + 1] = uint8_t(d[size_t(i)]);
  auto perm = [&](int k) {
    std::vector<int> a(static_cast<size_t>(k));
    std::iota(a.begin(), a.end(), 0);
    std::shuffle(a.begin(), a.end(), rng);
    return a;
  };
  // New row r comes from old row rows[r]; likewise columns. (The draws' order for 3 x 3 is
  // the one earlier versions made, so their augmented batches are unchanged.)
  std::vector<int> rows(static_cast<size_t>(N)), cols(static_cast<size_t>(N));
  auto band_order = perm(bands), stack_order = perm(stacks);
  for (int b = 0; b < std::max(bands, stacks); ++b) {
    std::vector<int> in_band, in_stack;
    if (b < bands) in_band = perm(box.rows);
    if (b < stacks) in_stack = perm(box.cols);
    for (int i = 0; i < int(in_band.size()); ++i) rows[size_t(b * box.rows + i)] = band_order[size_t(b)] * box.rows + in_band[size_t(i)];
    for (int i = 0; i < int(in_stack.size()); ++i) cols[size_t(b * box.cols + i)] = stack_order[size_t(b)] * box.cols + in_stack[size_t(i)];
  }
  // A transpose maps a rows x cols box to a cols x rows one: a valid shuffle for square boxes only.
  const bool transpose = box.rows == box.cols && std::bernoulli_distribution(0.5)(rng);
  auto map = [&](const Grid& g) {
    Grid o(g.size(), 0);
    for (int r = 0; r < N; ++r)
      for (int c = 0; c < N; ++c) {
        const int src = transpose ? cols[size_t(c)] * N + rows[size_t(r)] : rows[size_t(r)] * N + cols[size_t(c)];
        o[size_t(r * N + c)] = digit[g[size_t(src)]];
      }
    return o;
  };
  p.puzzle = map(p.puzzle);
  p.solution = map(p.solution);
}

}  // namespace eqt::data
