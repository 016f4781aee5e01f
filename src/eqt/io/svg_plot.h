// eqt/io/svg_plot.h — line plots as self-contained SVG text (no plotting library, no fonts
// to install: any browser or image viewer renders them).
//
// A plot is a set of named series of (x, y) points on linear x and linear or log10 y axes,
// with "nice" ticks (1, 2, 5 x 10^k), axis labels, a title and a legend. Non-finite points
// (and, on a log axis, points <= 0) are skipped, so a diverged run still plots.
// What it is not: a general charting library; no bars, no subplots, no interactivity.
#pragma once

#include <string>
#include <vector>

namespace eqt::io {

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length
  bool markers = false;      // draw a dot at every point (always for single points)
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_y = false;
  int width = 720, height = 420;  // pixels
};

// Ticks covering [lo, hi] at a step of 1, 2 or 5 x 10^k, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

// The SVG document. Throws std::invalid_argument when no series has a plottable point.
std::string svg_line_plot(const std::vector<Series>& series, const PlotOptions& o);

}  // namespace eqt::io
