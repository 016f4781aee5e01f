// SVG line plots: tick choice against hand-computed values, data mapped exactly onto the
// plotting frame, escaping, and points a log axis cannot show are skipped.
#include "eqt/io/svg_plot.h"

#include <gtest/gtest.h>

#include <regex>

using namespace eqt;

namespace {

std::vector<std::pair<double, double>> polyline_points(const std::string& svg) {
  std::smatch m;
  std::vector<std::pair<double, double>> out;
  if (!std::regex_search(svg, m, std::regex("points=\"([^\"]*)\""))) return out;
  std::string s = m[1];
  std::regex pt("([-0-9.]+),([-0-9.]+)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), pt); it != std::sregex_iterator(); ++it)
    out.push_back({std::stod((*it)[1]), std::stod((*it)[2])});
  return out;
}

TEST(SvgPlot, NiceTicks) {
  // Steps of 1, 2 or 5 x 10^k, about 6 ticks, computed by hand for each range.
  EXPECT_EQ(io::nice_ticks(0, 1), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));   // raw step 0.2
  EXPECT_EQ(io::nice_ticks(3, 97), (std::vector<double>{20, 40, 60, 80}));                // raw 18.8 -> 20
  EXPECT_EQ(io::nice_ticks(-0.013, 0.041), (std::vector<double>{0, 0.02, 0.04}));        // raw 0.0108 -> 0.02
  EXPECT_EQ(io::nice_ticks(-7, 3), (std::vector<double>{-6, -4, -2, 0, 2}));              // raw 2 -> 2
  EXPECT_EQ(io::nice_ticks(1, 1), (std::vector<double>{1}));                              // degenerate range
}

TEST(SvgPlot, DataFillsTheFrame) {
  io::PlotOptions o;
  o.width = 700;
  o.height = 400;
  // x from 0 to 10 and y from 0 to 1 are tick values, so the corners land on the frame:
  // left 72, right 700 - 24, top 36, bottom 400 - 52.
  auto svg = io::svg_line_plot({{"a", {0, 5, 10}, {0, 0.5, 1}}}, o);
  auto p = polyline_points(svg);
  ASSERT_EQ(p.size(), 3u);
  double worst = 0;
  const std::pair<double, double> expect[] = {{72, 348}, {374, 192}, {676, 36}};
  for (int i = 0; i < 3; ++i)
    worst = std::max({worst, std::abs(p[i].first - expect[i].first), std::abs(p[i].second - expect[i].second)});
  std::printf("  max pixel error %.3f\n", worst);
  EXPECT_LT(worst, 0.01);
}

TEST(SvgPlot, EscapesAndSkipsUnplottablePoints) {
  io::PlotOptions o;
  o.title = "a<b & \"c\"";
  o.log_y = true;
  auto svg = io::svg_line_plot({{"loss", {1, 2, 3, 4}, {1.0, -1.0, std::nan(""), 0.01}}}, o);
  EXPECT_NE(svg.find("a&lt;b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(polyline_points(svg).size(), 2u);  // the negative and the NaN are dropped
  EXPECT_NE(svg.find(">1e-2<"), std::string::npos);  // decade ticks
  EXPECT_THROW(io::svg_line_plot({{"none", {1}, {std::nan("")}}}, o), std::invalid_argument);
  EXPECT_THROW(io::svg_line_plot({{"ragged", {1, 2}, {1}}}, o), std::invalid_argument);
}

}  // namespace
