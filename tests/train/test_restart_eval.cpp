// Test-time depth and restarts (issue 29), checked against what they must be: one restart
// without noise is today's evaluation exactly, at every depth; a row's numbers depend on its
// seed alone (the same with 1 or 16 puzzles per batch, the same with 2 or 4 restarts per
// puzzle, the same run twice) and restarts are different draws; families without a loop
// state refuse depth and restarts by name.
#include "eqt/models/family.h"
#include "eqt/train/evaluate.h"
#include "eqt/train/restart_eval.h"
#include "train/small_run.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

std::shared_ptr<models::ModelImpl> small(const std::string& family) {
  torch::manual_seed(5);
  auto c = test::small_config(family);
  c.trm.h_cycles = 2;
  c.trm.l_cycles = 2;
  // Solves that stop at a loose tolerance, at different iterations per row: a batched solve
  // without frozen rows would move the rows that already stopped.
  c.solver.eval_tol = 1e-3;
  c.solver.eval_min_iter = 0;
  c.solver.eval_max_iter = 12;
  return models::make_model(c);
}

// (depth, puzzle, restart) -> the row's record.
std::map<std::tuple<int64_t, int64_t, int64_t>, nlohmann::json> by_row(const nlohmann::json& r) {
  std::map<std::tuple<int64_t, int64_t, int64_t>, nlohmann::json> m;
  for (const auto& row : r["rows"]) m[{row["depth"], row["puzzle"], row["restart"]}] = row;
  return m;
}

}  // namespace

TEST(RestartEval, OneRestartWithoutNoiseIsThePlainEvaluation) {
  auto task = test::small_parity();
  for (const auto& family : models::family_names()) {
    auto m = small(family);
    const bool state = models::find_family(family).has_state;
    train::RestartEval re;
    re.depths = state ? std::vector<int64_t>{1, 3} : std::vector<int64_t>{1};
    auto r = train::evaluate_restarts(*m, *task, 16, 0, {}, re);
    for (const auto& row : r["depth_restarts"]) {
      train::SupervisionEval sup;
      sup.steps = row["depth"].get<int64_t>();
      auto plain = train::evaluate(*m, *task, 16, 0, {}, sup);
      EXPECT_EQ(row["first_exact"].get<double>(), plain["exact_accuracy"].get<double>()) << family << " depth " << sup.steps;
      EXPECT_EQ(row["first_token_accuracy"].get<double>(), plain["token_accuracy"].get<double>())
          << family << " depth " << sup.steps;
      // One restart: every choice is restart 0.
      EXPECT_EQ(row["top1_residual_exact"], row["first_exact"]) << family;
      EXPECT_EQ(row["majority_token_accuracy"], row["first_token_accuracy"]) << family;
      std::printf("%s depth %lld: token accuracy %.4f (plain %.4f)\n", family.c_str(), (long long)sup.steps,
                  row["first_token_accuracy"].get<double>(), plain["token_accuracy"].get<double>());
    }
  }
}

TEST(RestartEval, ARowDependsOnItsSeedAlone) {
  auto task = test::small_parity();
  for (const auto& family : models::state_families()) {
    auto m = small(family);
    train::RestartEval re;
    re.depths = {1, 2};
    re.breadths = {1, 4};
    re.start_noise = 3.0;
    re.path_noise = family == "looped" || family == "trm" ? 0.05 : 0.0;
    re.keep_rows = true;
    re.seed = 11;
    auto wide = by_row(train::evaluate_restarts(*m, *task, 16, 2, {}, re));  // 32 puzzles, 16 per batch
    auto again = by_row(train::evaluate_restarts(*m, *task, 16, 2, {}, re));
    auto narrow = by_row(train::evaluate_restarts(*m, *task, 1, 32, {}, re));  // 1 puzzle per batch
    re.breadths = {2};
    auto two = by_row(train::evaluate_restarts(*m, *task, 16, 2, {}, re));
    re.breadths = {4};
    re.seed = 12;
    auto other = by_row(train::evaluate_restarts(*m, *task, 16, 2, {}, re));
    ASSERT_EQ(wide.size(), size_t(2 * 32 * 4)) << family;
    double worst = 0;
    int differ_seed = 0, differ_restart = 0;
    for (const auto& [key, row] : wide) {
      EXPECT_EQ(row, again.at(key)) << family << ": the same seed twice";
      const auto& n = narrow.at(key);
      EXPECT_EQ(row["exact"], n["exact"]) << family;
      EXPECT_EQ(row["token_hits"], n["token_hits"]) << family;
      const double a = row["residual"].get<double>(), b = n["residual"].get<double>();
      // Relative residuals of a converged float32 solve sit at its rounding floor (~1e-8),
      // where batching changes the rounding: differences are measured against max(|a|, 1e-3).
      auto off = [&](double x, double y) { return std::abs(x - y) / std::max(std::abs(x), 1e-3); };
      worst = std::max(worst, off(a, b));
      if (std::get<2>(key) < 2) {
        EXPECT_EQ(row["token_hits"], two.at(key)["token_hits"]) << family;
        worst = std::max(worst, off(a, two.at(key)["residual"].get<double>()));
      }
      if (std::get<2>(key) > 0 && other.at(key)["residual"] != row["residual"]) ++differ_seed;
      if (std::get<2>(key) > 0 && wide.at({std::get<0>(key), std::get<1>(key), 0})["residual"] != row["residual"])
        ++differ_restart;
    }
    std::printf("%s: batched vs alone, 2 vs 4 restarts: worst residual difference %.3g (relative, floor 1e-3)\n",
                family.c_str(), worst);
    EXPECT_LT(worst, 1e-4) << family << ": a row's numbers depend on its batch";
    EXPECT_EQ(differ_seed, 2 * 32 * 3) << family << ": another seed must draw other restarts";
    EXPECT_EQ(differ_restart, 2 * 32 * 3) << family << ": restarts of one puzzle must be different draws";
  }
}

TEST(RestartEval, FamiliesWithoutStateRefuseDepthAndRestarts) {
  auto task = test::small_parity();
  for (const auto& family : {"standard", "eqt"}) {
    auto m = small(family);
    train::RestartEval re;
    re.depths = {1, 2};
    try {
      train::evaluate_restarts(*m, *task, 16, 1, {}, re);
      ADD_FAILURE() << family << " accepted depth 2";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(family), std::string::npos) << e.what();
    }
    re.depths = {1};
    re.breadths = {1, 4};
    EXPECT_THROW(train::evaluate_restarts(*m, *task, 16, 1, {}, re), std::invalid_argument) << family;
  }
  train::RestartEval bad;
  bad.depths = {2, 1};
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad.depths = {1};
  bad.start_noise = -1;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
}

// A looped model that starts from noise (looped.state_init = noise): with restarts, restart
// 0 starts at a noise start of its own, drawn from its row's seed (reproducible, the same
// batched or alone), not at zeros as the other families' restart 0 starts at their start.
TEST(RestartEval, LoopedNoiseStartGivesRestartZeroANoiseStartOfItsOwn) {
  auto task = test::small_parity();
  auto m = small("looped");
  train::RestartEval re;
  re.breadths = {2};
  re.keep_rows = true;
  re.seed = 3;
  auto zero = by_row(train::evaluate_restarts(*m, *task, 16, 1, {}, re));  // state_init = zero
  m->config().looped.state_init = "noise";
  m->config().looped.init_noise_std = 1.0;
  auto noisy = by_row(train::evaluate_restarts(*m, *task, 16, 1, {}, re));
  auto alone = by_row(train::evaluate_restarts(*m, *task, 1, 16, {}, re));
  int moved = 0, rows = 0;
  double worst = 0;
  for (const auto& [key, row] : noisy) {
    if (std::get<2>(key) != 0) continue;
    ++rows;
    EXPECT_EQ(row["token_hits"], alone.at(key)["token_hits"]) << "restart 0 batched vs alone";
    const double a = row["residual"].get<double>(), b = alone.at(key)["residual"].get<double>();
    worst = std::max(worst, std::abs(a - b) / std::max(std::abs(a), 1e-3));
    if (row["residual"] != zero.at(key)["residual"]) ++moved;
  }
  std::printf("looped, state_init noise: %d of %d restart-0 rows start elsewhere than zeros; batched vs alone "
              "worst residual difference %.3g\n", moved, rows, worst);
  EXPECT_EQ(rows, 16);
  EXPECT_EQ(moved, rows) << "restart 0 must start at the family's noise start, not at zeros";
  EXPECT_LT(worst, 1e-4);
}
