// cli/sweep_report.cpp — see sweep_report.h.
#include "cli/sweep_report.h"

#include "eqt/io/svg_plot.h"
#include "eqt/io/text_file.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <numeric>

namespace eqt::cli {
namespace {

double number(const nlohmann::json& row, const std::string& key) {
  return row.contains(key) && row[key].is_number() ? row[key].get<double>() : NAN;
}

std::vector<double> finite(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v)
    if (std::isfinite(x)) out.push_back(x);
  return out;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

// The rows of one (family, cell), in seed order.
using Groups = std::map<std::pair<std::string, std::string>, std::vector<nlohmann::json>>;

// x position of a solver-step cap: its number, "max" at twice the largest numeric cap.
double cap_x(const std::string& cap, double largest) { return cap == "max" ? 2 * std::max(1.0, largest) : std::stod(cap); }

}  // namespace

std::string mean_std(const std::vector<double>& values, int digits) {
  auto v = finite(values);
  if (v.empty()) return "-";
  const double m = mean(v);
  if (v.size() == 1) return fmt::format("{:.{}f}", m, digits);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return fmt::format("{:.{}f} ± {:.{}f}", m, digits, std::sqrt(ss / double(v.size() - 1)), digits);
}

void write_sweep_report(const SweepSpec& spec, const std::string& spec_path, const nlohmann::json& rows, size_t total,
                        const std::string& dir) {
  io::write_text_file(dir + "/results.json", rows.dump(2) + "\n");
  Groups groups;
  std::vector<std::pair<std::string, std::string>> order;  // first-seen order of (cell, family)
  for (const auto& r : rows) {
    auto key = std::make_pair(r["cell"].get<std::string>(), r["family"].get<std::string>());
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(r);
  }
  const bool text = spec.task == "text";
  std::vector<std::pair<std::string, std::string>> cols = {{"params_total", "params"}};
  if (text) cols.push_back({"bits_per_byte", "bits/byte"});
  else {
    cols.push_back({"token_accuracy", "token acc"});
    cols.push_back({"exact_accuracy", "exact"});
  }
  cols.insert(cols.end(), {{"loss", "loss"},
                           {"solver_steps_mean", "solver steps"},
                           {"train_solver_steps", "train solver steps"},
                           {"train_seconds", "train s"},
                           {"peak_tensor_mb", "peak tensor MB"},
                           {"peak_rss_mb", "peak RSS MB"}});
  std::string md = fmt::format("# Sweep: {} ({})\n\n{} of {} runs finished. Each cell: mean ± sample standard "
                               "deviation over its seeds (n = seeds).\n\n",
                               spec.task, spec_path, rows.size(), total);
  md += "| cell | family | seeds |";
  for (const auto& c : cols) md += " " + c.second + " |";
  md += "\n|---|---|---|";
  for (size_t i = 0; i < cols.size(); ++i) md += "---|";
  md += "\n";
  for (const auto& key : order) {
    const auto& g = groups[key];
    md += fmt::format("| {} | {} | {} |", key.first, key.second, g.size());
    for (const auto& c : cols) {
      std::vector<double> v;
      for (const auto& r : g) v.push_back(number(r, c.first));
      const int digits = c.first == "params_total" ? 0
                         : c.first.find("mb") != std::string::npos || c.first == "train_seconds" ? 1
                         : c.first.find("solver_steps") != std::string::npos ? 2 : 4;
      md += " " + mean_std(v, digits) + " |";
    }
    md += "\n";
  }

  // Each plotted metric against each numeric axis: a line per family (and per value of the
  // other axes), at the mean over seeds.
  std::vector<std::string> plots;
  for (const auto& ax : spec.axes) {
    bool numeric = true;
    for (const auto& v : ax.values) numeric = numeric && v.is_number();
    if (!numeric) continue;
    for (const auto& metric : spec.plot) {
      std::map<std::string, io::Series> series;  // by family + other axes
      for (const auto& key : order) {
        const auto& g = groups[key];
        std::string name = key.second;
        for (const auto& other : spec.axes)
          if (other.key != ax.key) name += " " + other.short_name() + "=" + g[0]["point"][other.key].dump();
        std::vector<double> v;
        for (const auto& r : g) v.push_back(number(r, metric));
        v = finite(v);
        if (v.empty()) continue;
        auto& s = series[name];
        s.name = name;
        s.markers = true;
        s.x.push_back(g[0]["point"][ax.key].get<double>());
        s.y.push_back(mean(v));
      }
      std::vector<io::Series> list;
      for (auto& [n, s] : series) list.push_back(s);
      if (list.empty()) continue;
      const std::string file = "plot_" + metric + "_vs_" + ax.short_name() + ".svg";
      io::PlotOptions po;
      po.title = spec.task + ": " + metric + " vs " + ax.short_name() + " (mean over seeds)";
      po.x_label = ax.key;
      po.y_label = metric;
      try {
        io::write_text_file(dir + "/" + file, io::svg_line_plot(list, po));
        plots.push_back(file);
      } catch (const std::invalid_argument&) {  // nothing plottable yet
      }
    }
  }

  // The internalisation curve: the metric per solver-step cap, a line per family, per cell.
  if (!spec.eval_solver_steps.empty()) {
    double largest = 0;
    for (const auto& c : spec.eval_solver_steps)
      if (c != "max") largest = std::max(largest, std::stod(c));
    const std::string metric = text ? "bits_per_byte" : "token_accuracy";
    std::map<std::string, std::vector<io::Series>> by_cell;
    md += fmt::format("\n## Internalisation: {} per solver-step cap (\"max\": the run's own cap)\n\n| cell | family |",
                      metric);
    for (const auto& c : spec.eval_solver_steps) md += " cap " + c + " |";
    md += "\n|---|---|";
    for (size_t i = 0; i < spec.eval_solver_steps.size(); ++i) md += "---|";
    md += "\n";
    for (const auto& key : order) {
      const auto& g = groups[key];
      io::Series s;
      s.name = key.second;
      s.markers = true;
      md += "| " + key.first + " | " + key.second + " |";
      for (const auto& cap : spec.eval_solver_steps) {
        std::vector<double> v;
        for (const auto& r : g)
          if (r.contains("by_solver_steps"))
            for (const auto& c : r["by_solver_steps"])
              if (c.value("solver_steps_cap", std::string()) == cap) v.push_back(number(c, metric));
        md += " " + mean_std(v) + " |";
        if (!finite(v).empty()) {
          s.x.push_back(cap_x(cap, largest));
          s.y.push_back(mean(finite(v)));
        }
      }
      md += "\n";
      if (!s.x.empty()) by_cell[key.first].push_back(s);
    }
    for (const auto& [cell, list] : by_cell) {
      const std::string file = "internalisation_" + cell + ".svg";
      io::PlotOptions po;
      po.title = spec.task + " " + cell + ": " + metric + " per solver-step cap (max at " +
                 fmt::format("{:g}", 2 * std::max(1.0, largest)) + ")";
      po.x_label = "solver-step cap";
      po.y_label = metric;
      try {
        io::write_text_file(dir + "/" + file, io::svg_line_plot(list, po));
        plots.push_back(file);
      } catch (const std::invalid_argument&) {
      }
    }
  }
  // Test-time compute (eval_restarts, issue 29): the depth x restarts table, each signal's
  // AUROC and the halting prices, mean ± std over seeds; a plot of exact accuracy against
  // depth per cell.
  bool any_restarts = false;
  for (const auto& r : rows) any_restarts = any_restarts || r.contains("restarts");
  if (any_restarts) {
    auto rs = [](const nlohmann::json& r) -> const nlohmann::json& { return r["restarts"]; };
    md += "\n## Test-time compute: exact accuracy by depth and restarts (eqt eval";
    for (const auto& o : spec.eval_restarts) md += " " + o;
    md += ")\n\nDepth in supervision steps; first = restart 0 (the plain evaluation), top-1 = the restart "
          "with the lowest latent residual / logit change, majority = the most shared whole answer, pass@B = any "
          "restart right (the oracle); evals = mean loop steps per restart.\n\n"
          "| cell | family | depth | restarts | first | top-1 residual | top-1 logit change | majority | pass@B | "
          "token acc top-1 residual | evals |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    const char* keys[] = {"first_exact", "top1_residual_exact", "top1_logit_change_exact", "majority_exact",
                          "pass_at_restarts", "top1_residual_token_accuracy", "evals_mean"};
    std::map<std::string, std::vector<io::Series>> by_cell;
    for (const auto& key : order) {
      const auto& g = groups[key];
      const nlohmann::json* first = nullptr;
      for (const auto& r : g)
        if (r.contains("restarts")) first = &r;
      if (!first) continue;
      io::Series s0{key.second + " restart 0", {}, {}, true}, s1{key.second + " top-1 residual", {}, {}, true};
      const int64_t top_b = rs(*first)["restarts"].back().get<int64_t>();
      for (const auto& cell : rs(*first)["depth_restarts"]) {
        const auto d = cell["depth"].get<int64_t>(), b = cell["restarts"].get<int64_t>();
        md += fmt::format("| {} | {} | {} | {} |", key.first, key.second, d, b);
        std::vector<std::vector<double>> v(7);
        for (const auto& r : g) {
          if (!r.contains("restarts")) continue;
          for (const auto& c : rs(r)["depth_restarts"])
            if (c["depth"] == d && c["restarts"] == b)
              for (size_t k = 0; k < 7; ++k) v[k].push_back(number(c, keys[k]));
        }
        for (size_t k = 0; k < 7; ++k) md += " " + mean_std(v[k], k == 6 ? 1 : 3) + " |";
        md += "\n";
        if (b == top_b && !finite(v[1]).empty()) {
          s0.x.push_back(double(d));
          s0.y.push_back(mean(finite(v[0])));
          s1.x.push_back(double(d));
          s1.y.push_back(mean(finite(v[1])));
        }
      }
      by_cell[key.first].push_back(s0);
      if (top_b > 1) by_cell[key.first].push_back(s1);
    }
    md += "\n## Convergence as confidence: AUROC for \"right\" (restart 0)\n\nPer answer (whole puzzle "
          "right): the latent residual, the logit change (EqR's score; from depth 2), the halting head's q, the "
          "smallest max-probability of a cell; per cell: the state change and logit change since the last step, "
          "the max-probability. 0.5 = no information; - = undefined (every answer right, or every one wrong).\n\n"
          "| cell | family | depth | right (of answers) | residual | logit change | q_halt | min prob | cell: state change "
          "| cell: logit change | cell: max prob |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& key : order) {
      const auto& g = groups[key];
      std::map<int64_t, std::vector<const nlohmann::json*>> by_depth;
      for (const auto& r : g)
        if (r.contains("restarts"))
          for (const auto& c : rs(r)["confidence"]) by_depth[c["depth"].get<int64_t>()].push_back(&c);
      for (const auto& [d, list] : by_depth) {
        std::vector<double> right;
        for (auto* c : list) right.push_back((*c)["right"].get<double>() / std::max(1.0, (*c)["answers"].get<double>()));
        md += fmt::format("| {} | {} | {} | {} |", key.first, key.second, d, mean_std(right, 3));
        for (const auto& [level, name] : std::vector<std::pair<std::string, std::string>>{
                 {"per_answer", "residual"}, {"per_answer", "logit_change"}, {"per_answer", "q_halt"},
                 {"per_answer", "min_prob"}, {"per_cell", "state_change"}, {"per_cell", "logit_change"},
                 {"per_cell", "max_prob"}}) {
          std::vector<double> v;
          for (auto* c : list)
            if (c->contains(level) && (*c)[level].contains(name)) v.push_back(number((*c)[level], name));
          md += " " + mean_std(v, 3) + " |";
        }
        md += "\n";
      }
    }
    md += "\n## Halting priced (restart 0): exact accuracy and mean function evaluations per rule\n\n"
          "fixed d: every puzzle runs d supervision steps; residual / logit change qN: stop at the first step whose "
          "signal is below its N-quantile over the run; learned: stop once q_halt > 0.\n\n"
          "| cell | family | rule | exact | token acc | evals | depth |\n|---|---|---|---|---|---|---|\n";
    for (const auto& key : order) {
      const auto& g = groups[key];
      std::vector<std::string> labels;
      std::map<std::string, std::vector<std::vector<double>>> vals;
      for (const auto& r : g) {
        if (!r.contains("restarts")) continue;
        for (const auto& h : rs(r)["halting"]) {
          std::string label = h["rule"].get<std::string>();
          if (h.contains("depth")) label += " " + std::to_string(h["depth"].get<int64_t>());
          if (h.contains("tol_quantile")) label += fmt::format(" q{:g}", h["tol_quantile"].get<double>());
          if (!vals.count(label)) {
            labels.push_back(label);
            vals[label].resize(4);
          }
          auto& v = vals[label];
          v[0].push_back(number(h, "exact_accuracy"));
          v[1].push_back(number(h, "token_accuracy"));
          v[2].push_back(number(h, "evals_mean"));
          v[3].push_back(number(h, "depth_mean"));
        }
      }
      for (const auto& l : labels) {
        const auto& v = vals[l];
        md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", key.first, key.second, l, mean_std(v[0], 3),
                          mean_std(v[1], 3), mean_std(v[2], 1), mean_std(v[3], 2));
      }
    }
    for (const auto& [cell, list] : by_cell) {
      const std::string file = "restarts_" + cell + ".svg";
      io::PlotOptions po;
      po.title = spec.task + " " + cell + ": exact accuracy vs test-time depth (mean over seeds)";
      po.x_label = "depth (supervision steps)";
      po.y_label = "exact accuracy";
      try {
        io::write_text_file(dir + "/" + file, io::svg_line_plot(list, po));
        plots.push_back(file);
      } catch (const std::invalid_argument&) {
      }
    }
  }
  if (!plots.empty()) {
    md += "\n## Plots\n\n";
    for (const auto& f : plots) md += "![" + f + "](" + f + ")\n";
  }
  io::write_text_file(dir + "/results.md", md);
}

}  // namespace eqt::cli
