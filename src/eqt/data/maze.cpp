// eqt/data/maze.cpp — see maze.h.
#include "eqt/data/maze.h"

#include "eqt/io/input_file.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <stdexcept>

namespace eqt::data {
namespace {

bool open_cell(char c) { return c != '#'; }

// Breadth-first distances from `from` (-1 where unreachable) and shortest-path counts (capped at 2).
void bfs(int64_t n, const std::string& g, int64_t from, std::vector<int64_t>& dist, std::vector<int>& ways) {
  dist.assign(size_t(n * n), -1);
  ways.assign(size_t(n * n), 0);
  std::deque<int64_t> q{from};
  dist[size_t(from)] = 0;
  ways[size_t(from)] = 1;
  const int64_t dr[4] = {-1, 1, 0, 0}, dc[4] = {0, 0, -1, 1};
  while (!q.empty()) {
    const int64_t c = q.front();
    q.pop_front();
    for (int k = 0; k < 4; ++k) {
      const int64_t r = c / n + dr[k], col = c % n + dc[k];
      if (r < 0 || r >= n || col < 0 || col >= n) continue;
      const int64_t m = r * n + col;
      if (!open_cell(g[size_t(m)])) continue;
      if (dist[size_t(m)] < 0) {
        dist[size_t(m)] = dist[size_t(c)] + 1;
        q.push_back(m);
      }
      if (dist[size_t(m)] == dist[size_t(c)] + 1) ways[size_t(m)] = std::min(2, ways[size_t(m)] + ways[size_t(c)]);
    }
  }
}

std::string strip_path(std::string g) {
  std::replace(g.begin(), g.end(), 'o', ' ');
  return g;
}

std::string mark_path(const std::string& grid, const std::vector<int64_t>& cells) {
  std::string s = grid;
  for (size_t i = 1; i + 1 < cells.size(); ++i) s[size_t(cells[i])] = 'o';
  return s;
}

}  // namespace

MazePath solve_maze(int64_t n, const std::string& grid) {
  MazePath p;
  const auto s = grid.find('S'), g = grid.find('G');
  if (s == std::string::npos || g == std::string::npos) return p;
  std::vector<int64_t> dist;
  std::vector<int> ways;
  bfs(n, grid, int64_t(s), dist, ways);
  if (dist[g] < 0) return p;
  p.moves = dist[g];
  p.count = ways[g];
  // Walk back from G along strictly decreasing distances; the neighbour order makes it deterministic.
  std::vector<int64_t> back{int64_t(g)};
  const int64_t dr[4] = {-1, 1, 0, 0}, dc[4] = {0, 0, -1, 1};
  while (back.back() != int64_t(s)) {
    const int64_t c = back.back();
    for (int k = 0; k < 4; ++k) {
      const int64_t r = c / n + dr[k], col = c % n + dc[k];
      if (r < 0 || r >= n || col < 0 || col >= n) continue;
      const int64_t m = r * n + col;
      if (open_cell(grid[size_t(m)]) && dist[size_t(m)] == dist[size_t(c)] - 1) {
        back.push_back(m);
        break;
      }
    }
  }
  p.cells.assign(back.rbegin(), back.rend());
  return p;
}

bool is_valid_maze_solution(int64_t n, const std::string& grid, const std::string& sol) {
  if (int64_t(sol.size()) != n * n || int64_t(grid.size()) != n * n) return false;
  for (size_t i = 0; i < sol.size(); ++i) {
    const char want = grid[i] == 'o' ? ' ' : grid[i];
    if (sol[i] != want && !(sol[i] == 'o' && want == ' ')) return false;  // only open cells may be marked
  }
  auto shortest = solve_maze(n, grid);
  if (shortest.moves < 0) return false;
  // The marked cells plus S and G must form a path of exactly `moves` moves: BFS restricted
  // to them reaches G in `moves` steps, and there are exactly moves - 1 marked cells.
  std::string only = sol;
  for (auto& c : only)
    if (c == ' ') c = '#';
  const auto marked = std::count(sol.begin(), sol.end(), 'o');
  auto on = solve_maze(n, only);
  return on.moves == shortest.moves && marked == shortest.moves - 1;
}

std::vector<Maze> generate_maze(int64_t count, uint64_t seed, const MazeGenOptions& o) {
  if (o.n < 5) throw std::invalid_argument("maze size " + std::to_string(o.n) + " must be >= 5");
  if (o.min_path < 1) throw std::invalid_argument("maze min_path must be >= 1");
  if (!(o.open_walls >= 0 && o.open_walls <= 1))
    throw std::invalid_argument("maze open_walls = " + std::to_string(o.open_walls) + " is invalid; expected a fraction in [0, 1]");
  const int64_t n = o.n;
  std::mt19937_64 rng(seed);
  std::vector<Maze> out;
  int64_t attempts = 0;
  while (int64_t(out.size()) < count) {
    if (++attempts > 1000 * (count + 10))
      throw std::invalid_argument("maze generator: no " + std::to_string(n) + " x " + std::to_string(n) +
                                  " maze has a unique shortest path of >= " + std::to_string(o.min_path) +
                                  " moves often enough; lower min_path or open_walls");
    std::string g(size_t(n * n), '#');
    // Carve: lattice cells at odd (r, c) inside the border, joined through the wall between.
    std::vector<int64_t> stack{1 * n + 1};
    g[size_t(n + 1)] = ' ';
    while (!stack.empty()) {
      const int64_t c = stack.back(), r = c / n, col = c % n;
      int64_t nb[4], k = 0;
      const int64_t dr[4] = {-2, 2, 0, 0}, dc[4] = {0, 0, -2, 2};
      for (int d = 0; d < 4; ++d) {
        const int64_t rr = r + dr[d], cc = col + dc[d];
        if (rr >= 1 && rr <= n - 2 && cc >= 1 && cc <= n - 2 && g[size_t(rr * n + cc)] == '#') nb[k++] = rr * n + cc;
      }
      if (k == 0) {
        stack.pop_back();
        continue;
      }
      const int64_t next = nb[rng() % uint64_t(k)];
      g[size_t((c + next) / 2)] = ' ';
      g[size_t(next)] = ' ';
      stack.push_back(next);
    }
    if (o.open_walls > 0) {  // knock out walls that separate two open cells in a line
      std::uniform_real_distribution<double> u(0, 1);
      for (int64_t r = 1; r < n - 1; ++r)
        for (int64_t c = 1; c < n - 1; ++c) {
          const auto i = size_t(r * n + c);
          if (g[i] != '#') continue;
          const bool horiz = g[i - 1] == ' ' && g[i + 1] == ' ', vert = g[i - size_t(n)] == ' ' && g[i + size_t(n)] == ' ';
          if ((horiz != vert) && u(rng) < o.open_walls) g[i] = ' ';
        }
    }
    std::vector<int64_t> open;
    for (int64_t i = 0; i < n * n; ++i)
      if (g[size_t(i)] == ' ') open.push_back(i);
    const int64_t s = open[rng() % open.size()];
    std::vector<int64_t> dist;
    std::vector<int> ways;
    bfs(n, g, s, dist, ways);
    std::vector<int64_t> far;
    for (int64_t i : open)
      if (dist[size_t(i)] >= o.min_path && ways[size_t(i)] == 1) far.push_back(i);
    if (far.empty()) continue;
    const int64_t goal = far[rng() % far.size()];
    g[size_t(s)] = 'S';
    g[size_t(goal)] = 'G';
    auto p = solve_maze(n, g);
    Maze m{n, g, mark_path(g, p.cells), p.moves};
    out.push_back(std::move(m));
  }
  return out;
}

std::string to_text(const Maze& m, bool with_solution) {
  const std::string& s = with_solution ? m.solution : m.grid;
  std::string out;
  for (int64_t r = 0; r < m.n; ++r) out += s.substr(size_t(r * m.n), size_t(m.n)) + "\n";
  return out;
}

std::vector<Maze> load_maze(const std::string& path) {
  auto in = io::open_input_file(path, "maze file");
  std::vector<Maze> out;
  std::vector<std::string> rows;
  int64_t line_no = 0, block_start = 0;
  auto where = [&](int64_t line) { return path + ":" + std::to_string(line) + ": "; };
  auto finish = [&]() {
    if (rows.empty()) return;
    const int64_t n = int64_t(rows.size());
    std::string all;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (int64_t(rows[i].size()) != n)
        throw std::invalid_argument(where(block_start + int64_t(i)) + "maze row has " + std::to_string(rows[i].size()) +
                                    " characters; a maze of " + std::to_string(n) + " rows needs " +
                                    std::to_string(n) + " (mazes are square)");
      all += rows[i];
    }
    if (std::count(all.begin(), all.end(), 'S') != 1 || std::count(all.begin(), all.end(), 'G') != 1)
      throw std::invalid_argument(where(block_start) + "a maze needs exactly one S and one G");
    Maze m;
    m.n = n;
    m.grid = strip_path(all);
    auto p = solve_maze(n, m.grid);
    if (p.moves < 0) throw std::invalid_argument(where(block_start) + "maze has no path from S to G");
    m.path_moves = p.moves;
    if (all.find('o') != std::string::npos) {
      if (!is_valid_maze_solution(n, m.grid, all))
        throw std::invalid_argument(where(block_start) + "the 'o' cells are not a shortest path from S to G (" +
                                    std::to_string(p.moves) + " moves)");
      m.solution = all;
    } else {
      // Without a marked path the target must be well defined: exactly one shortest path.
      if (p.count > 1)
        throw std::invalid_argument(where(block_start) + "maze has several shortest paths (" +
                                    std::to_string(p.moves) + " moves); mark the intended one with 'o'");
      m.solution = mark_path(m.grid, p.cells);
    }
    out.push_back(std::move(m));
    rows.clear();
  };
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      finish();
      continue;
    }
    if (rows.empty()) block_start = line_no;
    for (size_t i = 0; i < line.size(); ++i)
      if (std::string("# SGo").find(line[i]) == std::string::npos)
        throw std::invalid_argument(where(line_no) + "character '" + std::string(1, line[i]) + "' at column " +
                                    std::to_string(i + 1) + " is not one of '#', ' ', 'S', 'G', 'o'");
    rows.push_back(line);
  }
  finish();
  if (out.empty()) throw std::invalid_argument("maze file '" + path + "' has no mazes");
  return out;
}

void dihedral_maze(Maze& m, int k) {
  const int64_t n = m.n;
  auto map = [&](const std::string& s) {
    std::string t(s.size(), '#');
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < n; ++c) {
        int64_t rr = r, cc = c;
        for (int q = 0; q < (k & 3); ++q) {  // rotate 90 degrees clockwise
          const int64_t t0 = rr;
          rr = cc;
          cc = n - 1 - t0;
        }
        if (k & 4) cc = n - 1 - cc;  // then mirror
        t[size_t(rr * n + cc)] = s[size_t(r * n + c)];
      }
    return t;
  };
  m.grid = map(m.grid);
  m.solution = map(m.solution);
}

}  // namespace eqt::data
