// The trainer's arithmetic: gradient accumulation equals one big batch, the EMA of the
// weights follows its recurrence, and the learning-rate schedule has its closed form.
#include "eqt/data/task.h"
#include "eqt/train/trainer.h"
#include "train/small_run.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using namespace eqt;

namespace {

// Hands out the rows of a fixed random table in order, so that 2 micro-batches of B/2 are
// exactly the rows of one batch of B (the trainer's generator is deliberately ignored).
class RowsInOrder final : public data::Task {
 public:
  RowsInOrder() {
    torch::manual_seed(42);
    tokens_ = torch::randint(2, {64, 8}, torch::kLong);  // (N, T)
    targets_ = tokens_.cumsum(1).remainder(2);           // cumulative parity
  }
  std::string name() const override { return "rows"; }
  int64_t vocab() const override { return 2; }
  int64_t seq_len() const override { return 8; }
  bool causal() const override { return true; }
  data::Batch train_batch(int64_t b, at::Generator&) override {
    auto rows = torch::arange(next_, next_ + b, torch::kLong).remainder(tokens_.size(0));
    next_ += b;
    return {tokens_.index_select(0, rows), targets_.index_select(0, rows), {}};
  }
  std::vector<data::Batch> eval_batches(int64_t b) const override {
    return {{tokens_.slice(0, 0, b), targets_.slice(0, 0, b), {}}};
  }
  nlohmann::json options() const override { return nlohmann::json::object(); }

 private:
  torch::Tensor tokens_, targets_;  // (N, T)
  int64_t next_ = 0;
};

std::shared_ptr<models::ModelImpl> tiny_standard() {
  torch::manual_seed(0);
  return models::make_model(test::small_config("standard"));
}

std::string dir(const std::string& name) {
  auto d = ::testing::TempDir() + "eqt_trainer_" + name;
  std::filesystem::remove_all(d);
  return d;
}

train::TrainOptions opts() {
  train::TrainOptions o;
  o.steps = 4;
  o.warmup = 1;
  o.lr = 1e-2;
  o.log_every = 100;
  return o;
}

double max_param_diff(models::ModelImpl& a, models::ModelImpl& b) {
  auto pa = a.parameters(), pb = b.parameters();
  double worst = 0;
  for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  return worst;
}

TEST(Trainer, AccumulationEqualsOneBigBatch) {
  auto one = tiny_standard(), two = tiny_standard();
  auto o1 = opts();
  o1.batch = 16;
  auto o2 = opts();
  o2.batch = 8;
  o2.accum = 2;
  auto r1 = train::Trainer(one, std::make_shared<RowsInOrder>(), o1, dir("one")).run();
  auto r2 = train::Trainer(two, std::make_shared<RowsInOrder>(), o2, dir("two")).run();
  ASSERT_EQ(r1.losses.size(), 4u);
  ASSERT_EQ(r2.losses.size(), 4u);
  double worst = 0;
  for (size_t i = 0; i < 4; ++i) worst = std::max(worst, std::abs(r1.losses[i] - r2.losses[i]) / r1.losses[i]);
  const double dp = max_param_diff(*one, *two);
  std::printf("  accum 2 x 8 vs 1 x 16: max relative loss difference %.3e, max parameter difference %.3e\n", worst,
              dp);
  EXPECT_LT(worst, 1e-5);
  EXPECT_LT(dp, 1e-5);
  EXPECT_GT(std::abs(r1.losses[0] - r1.losses[3]), 1e-3);  // it did train
}

TEST(Trainer, EmaFollowsItsRecurrence) {
  auto m = tiny_standard();
  auto o = opts();
  o.batch = 8;
  o.ema = 0.5;
  const std::string d = dir("ema");
  train::Trainer t(m, std::make_shared<RowsInOrder>(), o, d);
  std::vector<torch::Tensor> expect;  // ema_0 = initial weights; ema_k = d ema_{k-1} + (1 - d) w_k
  for (const auto& p : m->parameters()) expect.push_back(p.detach().clone());
  for (int64_t s = 1; s <= o.steps; ++s) {
    t.run(s);
    auto ps = m->parameters();
    for (size_t i = 0; i < ps.size(); ++i) expect[i] = 0.5 * expect[i] + 0.5 * ps[i].detach();
  }
  auto ck = train::load_checkpoint(d + "/checkpoint.eqt");
  ASSERT_EQ(ck.ema.size(), expect.size());
  double worst = 0, moved = 0;
  auto ps = m->parameters();
  for (size_t i = 0; i < expect.size(); ++i) {
    worst = std::max(worst, (ck.ema[i] - expect[i]).abs().max().item<double>());
    moved = std::max(moved, (ck.ema[i] - ps[i]).abs().max().item<double>());
  }
  std::printf("  EMA in checkpoint vs recurrence: max error %.3e (distance to raw weights %.3e)\n", worst, moved);
  EXPECT_LT(worst, 1e-6);
  EXPECT_GT(moved, 1e-4);  // the EMA is not just the raw weights
}

TEST(Trainer, LearningRateScheduleClosedForm) {
  train::TrainOptions o;
  o.steps = 100;
  o.warmup = 10;
  o.lr = 1.0;
  o.min_lr_ratio = 0.1;
  double worst = 0;
  for (int64_t s = 0; s < 100; ++s) {
    double expect;
    if (s < 10) {
      expect = double(s + 1) / 10;
    } else {
      const double p = double(s - 10) / double(100 - 10);
      expect = 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * p));
    }
    worst = std::max(worst, std::abs(train::learning_rate(o, s) - expect));
  }
  o.schedule = "linear";  // constant, then linear decay to min over the last 20 %
  EXPECT_NEAR(train::learning_rate(o, 50), 1.0, 1e-12);
  EXPECT_NEAR(train::learning_rate(o, 79), 1.0, 1e-12);
  EXPECT_LT(train::learning_rate(o, 90), 1.0);
  EXPECT_NEAR(train::learning_rate(o, 99), 1.0 - 0.9 * (89.0 / 90 - 0.8) / 0.2, 1e-12);
  std::printf("  cosine schedule: max error %.3e\n", worst);
  EXPECT_LT(worst, 1e-9);
}

// A loss past train.explode stops the run; the message may point at a checkpoint only
// when one exists (before the first save there is none).
TEST(Trainer, ExplodingLossNamesOnlyACheckpointThatExists) {
  auto task = std::make_shared<RowsInOrder>();
  auto o = opts();
  o.explode = 1e-6;  // every loss is above it: stops at step 1
  const auto d = dir("explode");
  auto r = train::Trainer(tiny_standard(), task, o, d).run();
  std::printf("  stopped: %s\n", r.stopped.c_str());
  EXPECT_NE(r.stopped.find("at step 1"), std::string::npos) << r.stopped;
  EXPECT_EQ(r.stopped.find("last good checkpoint"), std::string::npos) << r.stopped;
  EXPECT_FALSE(std::filesystem::exists(d + "/checkpoint.eqt"));
}

}  // namespace
