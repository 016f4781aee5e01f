// cli/restart_report.cpp — see restart_report.h.
#include "cli/restart_report.h"

#include "eqt/io/svg_plot.h"
#include "eqt/io/text_file.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <stdexcept>

namespace eqt::cli {

int64_t parse_depth(const std::string& value, int64_t trained) {
  const bool times = !value.empty() && (value.back() == 'x' || value.back() == 'X');
  const std::string digits = times ? value.substr(0, value.size() - 1) : value;
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(digits, &used);
  } catch (...) {
    used = 0;
  }
  if (digits.empty() || used != digits.size() || n < 1 || n > 100000)
    throw std::invalid_argument("--depth " + value +
                                ": expected supervision steps N >= 1 or a multiple Nx of the trained depth (" +
                                std::to_string(trained) + "), e.g. 4 or 4x");
  return times ? n * trained : n;
}

std::vector<int64_t> depth_ladder(const std::vector<std::string>& values, int64_t trained) {
  std::set<int64_t> d;
  for (const auto& v : values) d.insert(parse_depth(v, trained));
  if (values.size() == 1) {
    const int64_t top = *d.begin();
    for (int64_t x = trained; x < top; x *= 2) d.insert(x);
  }
  if (d.empty()) d.insert(trained);
  return {d.begin(), d.end()};
}

std::vector<int64_t> restart_ladder(const std::vector<int64_t>& values) {
  std::set<int64_t> b;
  for (auto v : values) {
    if (v < 1) throw std::invalid_argument("--restarts " + std::to_string(v) + ": expected a whole number >= 1");
    b.insert(v);
  }
  if (values.size() == 1)
    for (int64_t x = 1; x < values[0]; x *= 4) b.insert(x);
  if (b.empty()) b.insert(1);
  return {b.begin(), b.end()};
}

namespace {

std::string cell(const nlohmann::json& v) {
  char buf[16];
  if (!v.is_number()) return "    -";
  std::snprintf(buf, sizeof buf, "%5.3f", v.get<double>());
  return buf;
}

}  // namespace

void print_restart_report(const nlohmann::json& r) {
  std::printf("%s on %s (%lld parameters), %lld held-out examples; start noise %g, path noise %g, seed %llu\n",
              r["model"].get<std::string>().c_str(), r["task"].get<std::string>().c_str(),
              (long long)r["params_total"].get<int64_t>(), (long long)r["puzzles"].get<int64_t>(),
              r["start_noise"].get<double>(), r["path_noise"].get<double>(),
              (unsigned long long)r["seed"].get<uint64_t>());
  std::printf("exact accuracy  depth restarts | first  top1-res top1-logit majority pass@B | token: first top1-res oracle | evals\n");
  for (const auto& row : r["depth_restarts"])
    std::printf("%21lld %8lld | %s  %s    %s     %s  %s |        %s  %s    %s | %.1f\n",
                (long long)row["depth"].get<int64_t>(), (long long)row["restarts"].get<int64_t>(),
                cell(row["first_exact"]).c_str(), cell(row["top1_residual_exact"]).c_str(),
                cell(row["top1_logit_change_exact"]).c_str(), cell(row["majority_exact"]).c_str(),
                cell(row["pass_at_restarts"]).c_str(), cell(row["first_token_accuracy"]).c_str(),
                cell(row["top1_residual_token_accuracy"]).c_str(), cell(row["oracle_token_accuracy"]).c_str(),
                row["evals_mean"].get<double>());
  std::printf("AUROC for 'right' (restart 0)\n");
  for (const auto& c : r["confidence"]) {
    std::printf("  depth %lld, %lld answers (%g right):", (long long)c["depth"].get<int64_t>(),
                (long long)c["answers"].get<int64_t>(), c["right"].get<double>());
    for (const auto& [name, s] : c["per_answer"].items())
      if (s.is_object()) std::printf(" %s %s", name.c_str(), cell(s["auroc"]).c_str());
    std::printf(" | per cell:");
    for (const auto& [name, s] : c["per_cell"].items())
      if (s.is_object()) std::printf(" %s %s", name.c_str(), cell(s["auroc"]).c_str());
    std::printf("\n");
  }
  std::printf("halting (restart 0): rule, exact, token accuracy, mean evaluations\n");
  for (const auto& h : r["halting"]) {
    std::string rule = h["rule"].get<std::string>();
    if (h.contains("depth")) rule += " " + std::to_string(h["depth"].get<int64_t>());
    if (h.contains("tol")) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " < %.3g (q%.2f)", h["tol"].get<double>(), h["tol_quantile"].get<double>());
      rule += buf;
    }
    std::printf("  %-32s %s  %s  %.1f\n", rule.c_str(), cell(h["exact_accuracy"]).c_str(),
                cell(h["token_accuracy"]).c_str(), h["evals_mean"].get<double>());
  }
}

std::vector<std::string> write_restart_plots(const nlohmann::json& r, const std::string& dir, const std::string& stem) {
  std::vector<std::string> written;
  const std::string what = r["model"].get<std::string>() + " on " + r["task"].get<std::string>();
  auto write = [&](const std::vector<io::Series>& s, const io::PlotOptions& o, const std::string& name) {
    bool any = false;
    for (const auto& x : s) any = any || !x.x.empty();
    if (!any) return;
    const auto path = dir + "/" + stem + "." + name + ".svg";
    try {
      io::write_text_file(path, io::svg_line_plot(s, o));
      written.push_back(path);
    } catch (const std::invalid_argument&) {  // nothing plottable (e.g. every value null)
    }
  };
  {  // exact accuracy vs depth at the most restarts
    const int64_t B = r["restarts"].back().get<int64_t>();
    std::vector<io::Series> s = {{"restart 0", {}, {}, true},
                                 {"top-1 residual, B=" + std::to_string(B), {}, {}, true},
                                 {"top-1 logit change, B=" + std::to_string(B), {}, {}, true},
                                 {"majority, B=" + std::to_string(B), {}, {}, true},
                                 {"pass@" + std::to_string(B), {}, {}, true}};
    const char* keys[] = {"first_exact", "top1_residual_exact", "top1_logit_change_exact", "majority_exact",
                          "pass_at_restarts"};
    for (const auto& row : r["depth_restarts"]) {
      if (row["restarts"].get<int64_t>() != B) continue;
      for (size_t k = 0; k < 5; ++k)
        if (row[keys[k]].is_number()) {
          s[k].x.push_back(row["depth"].get<double>());
          s[k].y.push_back(row[keys[k]].get<double>());
        }
    }
    if (B == 1) s.resize(1);
    write(s, {what + ": exact accuracy vs test-time depth", "depth (supervision steps)", "exact accuracy"}, "depth");
  }
  if (!r["confidence"].empty()) {  // accuracy vs coverage at the deepest depth
    const auto& c = r["confidence"].back();
    std::vector<io::Series> s;
    for (const auto& [level, group] : {std::pair<std::string, std::string>{"answer", "per_answer"}, {"cell", "per_cell"}})
      for (const auto& [name, sig] : c[group].items()) {
        if (!sig.is_object()) continue;
        io::Series x{level + ": " + name, {}, {}, false};
        for (const auto& p : sig["coverage"]) {
          x.x.push_back(p["coverage"].get<double>());
          x.y.push_back(p["accuracy"].get<double>());
        }
        s.push_back(x);
      }
    write(s, {what + ": answer only the most converged (depth " + std::to_string(c["depth"].get<int64_t>()) + ")",
              "coverage (fraction answered)", "accuracy of the answered"},
          "coverage");
  }
  {  // accuracy vs compute per halting rule
    std::map<std::string, io::Series> by_rule;
    for (const auto& h : r["halting"]) {
      const auto rule = h["rule"].get<std::string>();
      auto& x = by_rule[rule];
      x.name = rule == "fixed" ? "fixed depth" : rule == "learned" ? "learned head (q > 0)" : rule + " < threshold";
      x.markers = true;
      x.x.push_back(h["evals_mean"].get<double>());
      x.y.push_back(h["exact_accuracy"].get<double>());
    }
    std::vector<io::Series> s;
    for (auto& [k, x] : by_rule) {
      std::vector<size_t> o(x.x.size());
      for (size_t i = 0; i < o.size(); ++i) o[i] = i;
      std::sort(o.begin(), o.end(), [&](size_t a, size_t b) { return x.x[a] < x.x[b]; });
      io::Series y{x.name, {}, {}, true};
      for (auto i : o) {
        y.x.push_back(x.x[i]);
        y.y.push_back(x.y[i]);
      }
      s.push_back(y);
    }
    write(s, {what + ": halting priced (restart 0)", "mean function evaluations per puzzle", "exact accuracy"},
          "halting");
  }
  return written;
}

}  // namespace eqt::cli
