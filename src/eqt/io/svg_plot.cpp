// eqt/io/svg_plot.cpp — see svg_plot.h.
#include "eqt/io/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace eqt::io {
namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string label(double v) {
  if (v == 0) return "0";
  return fmt::format("{:g}", v);
}

// Plotting margins (pixels): room for tick labels on the left and bottom, title on top.
constexpr double kLeft = 72, kRight = 24, kTop = 36, kBottom = 52;

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, target - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double m = 10;
  for (double c : {1.0, 2.0, 5.0})
    if (c * mag >= raw) {
      m = c;
      break;
    }
  const double step = m * mag;
  // Tick k is k * m * 10^e, computed as an integer divided (or multiplied) by a power of
  // ten so that 0.6 prints as 0.6, not as an accumulated 0.6000000000000001.
  const double inv = mag < 1 ? std::round(1 / mag) : 0;
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1)
    ticks.push_back(k == 0 ? 0.0 : inv > 0 ? k * m / inv : k * m * mag);
  return ticks;
}

std::string svg_line_plot(const std::vector<Series>& series, const PlotOptions& o) {
  auto ok = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!o.log_y || y > 0); };
  auto ty = [&](double y) { return o.log_y ? std::log10(y) : y; };  // axis coordinate of y
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series) {
    if (s.x.size() != s.y.size()) throw std::invalid_argument("plot series '" + s.name + "': x and y lengths differ");
    for (size_t i = 0; i < s.x.size(); ++i)
      if (ok(s.x[i], s.y[i])) {
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
        y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
      }
  }
  if (!(x1 >= x0)) throw std::invalid_argument("plot '" + o.title + "': no finite points to draw");
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  std::vector<double> yt;  // tick positions in axis coordinates
  if (o.log_y) {
    y0 = std::floor(y0), y1 = std::ceil(y1);  // whole decades
    for (double d = y0; d <= y1 + 1e-9; d += std::max(1.0, std::ceil((y1 - y0) / 8))) yt.push_back(d);
  } else {
    yt = nice_ticks(y0, y1);
    y0 = std::min(y0, yt.front()), y1 = std::max(y1, yt.back());
  }
  const auto xt = nice_ticks(x0, x1);
  const double W = o.width, H = o.height, pw = W - kLeft - kRight, ph = H - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double a) { return kTop + (1 - (a - y0) / (y1 - y0)) * ph; };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      o.width, o.height);
  svg += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n", W / 2,
                     escape(o.title));
  for (double t : xt) {
    svg += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1}\" x2=\"{0:.2f}\" y2=\"{2}\" stroke=\"#e0e0e0\"/>\n", px(t), kTop,
                       kTop + ph);
    svg += fmt::format("<text x=\"{:.2f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(t), kTop + ph + 16,
                       label(t));
  }
  for (double t : yt) {
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1:.2f}\" x2=\"{2}\" y2=\"{1:.2f}\" stroke=\"#e0e0e0\"/>\n", kLeft, py(t),
                       kLeft + pw);
    svg += fmt::format("<text x=\"{}\" y=\"{:.2f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6, py(t) + 4,
                       o.log_y ? "1e" + label(t) : label(t));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n", kLeft,
                     kTop, pw, ph);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2, H - 12,
                     escape(o.x_label));
  svg += fmt::format("<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\">{}{}</text>\n",
                     kTop + ph / 2, escape(o.y_label), o.log_y ? " (log scale)" : "");
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* color = kColors[k % (sizeof kColors / sizeof *kColors)];
    std::string pts;
    size_t n = 0;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (ok(s.x[i], s.y[i])) {
        pts += fmt::format("{}{:.2f},{:.2f}", n++ ? " " : "", px(s.x[i]), py(ty(s.y[i])));
        if (s.markers || s.x.size() == 1)
          svg += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\" fill=\"{}\"/>\n", px(s.x[i]),
                             py(ty(s.y[i])), color);
      }
    if (n > 1)
      svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" points=\"{}\"/>\n", color, pts);
    const double ly = kTop + 16 + 16 * double(k);  // legend, top right inside the frame
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"2.5\"/>\n",
                       kLeft + pw - 150, ly - 4, kLeft + pw - 130, color);
    svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", kLeft + pw - 124, ly, escape(s.name));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace eqt::io
