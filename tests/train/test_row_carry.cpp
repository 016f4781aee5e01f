// Tests for eqt/train/row_carry.h and step_metrics.h: the carried-rows seam draws exactly
// what the task draws when nothing is kept (so training is unchanged), keeps what is kept,
// and refills the rest from one draw; step figures sum and take maxima by name.
#include "eqt/data/make_task.h"
#include "eqt/train/row_carry.h"
#include "eqt/train/step_metrics.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

std::shared_ptr<data::Task> parity() {
  return data::make_task("parity", {{"length", 8}, {"n_train", 64}, {"n_test", 16}});
}

}  // namespace

TEST(RowCarry, NothingKeptDrawsWhatTheTaskDraws) {
  auto task = parity();
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(7), g2 = at::make_generator<at::CPUGeneratorImpl>(7);
  train::RowCarry carry;
  for (int step = 0; step < 4; ++step) {
    const auto& rows = carry.next(*task, 6, g1);
    auto want = task->train_batch(6, g2);
    EXPECT_TRUE(torch::equal(rows.batch.tokens, want.tokens)) << "step " << step;
    EXPECT_TRUE(torch::equal(rows.batch.targets, want.targets)) << "step " << step;
    EXPECT_FALSE(rows.fresh.defined() || rows.steps.defined() || rows.state.defined()) << "all fresh: nothing allocated";
    carry.settle(torch::Tensor(), torch::Tensor());
  }
}

TEST(RowCarry, KeptRowsStayAndTheOthersAreDrawnInOneCall) {
  auto task = parity();
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(3), g2 = at::make_generator<at::CPUGeneratorImpl>(3);
  train::RowCarry carry;
  const auto first = carry.next(*task, 6, g1);  // a copy: next() replaces the rows
  task->train_batch(6, g2);                     // g2 follows g1
  auto state = torch::arange(6, torch::kFloat).unsqueeze(1).repeat({1, 3}).requires_grad_();  // (6, 3)
  auto keep = torch::tensor({true, false, true, true, false, false});
  carry.settle(keep, state * 2);
  const auto& rows = carry.next(*task, 6, g1);
  auto drawn = task->train_batch(3, g2);  // the three fresh rows, in row order
  const int64_t kept[] = {0, 2, 3}, fresh[] = {1, 4, 5};
  for (int64_t i : kept) {
    EXPECT_TRUE(torch::equal(rows.batch.tokens[i], first.batch.tokens[i])) << "kept row " << i;
    EXPECT_FALSE(rows.fresh[i].item<bool>());
    EXPECT_EQ(rows.steps[i].item<int64_t>(), 1);
    EXPECT_TRUE(torch::equal(rows.state[i], (state * 2)[i].detach())) << "kept row " << i << "'s state";
  }
  for (int64_t j = 0; j < 3; ++j) {
    const int64_t i = fresh[j];
    EXPECT_TRUE(torch::equal(rows.batch.tokens[i], drawn.tokens[j])) << "fresh row " << i;
    EXPECT_TRUE(torch::equal(rows.batch.targets[i], drawn.targets[j])) << "fresh row " << i;
    EXPECT_TRUE(rows.fresh[i].item<bool>());
    EXPECT_EQ(rows.steps[i].item<int64_t>(), 0);
  }
  EXPECT_FALSE(rows.state.requires_grad()) << "the carry is detached between optimizer steps";
  // A kept row's count goes on; the next step without keep draws a whole batch again.
  carry.settle(torch::tensor({true, true, true, true, true, true}), rows.state);
  EXPECT_EQ(carry.next(*task, 6, g1).steps[0].item<int64_t>(), 2);
  carry.settle(torch::Tensor(), torch::Tensor());
  auto all_new = carry.next(*task, 6, g1);
  EXPECT_TRUE(torch::equal(all_new.batch.tokens, task->train_batch(6, g2).tokens));
}

TEST(RowCarry, AKeepMaskOfAnotherSizeIsAnError) {
  auto task = parity();
  auto g = at::make_generator<at::CPUGeneratorImpl>(0);
  train::RowCarry carry;
  carry.next(*task, 4, g);
  carry.settle(torch::tensor({true, false}), torch::Tensor());
  EXPECT_THROW(carry.next(*task, 4, g), std::logic_error);
}

TEST(StepMetrics, SumsAndMaximaByName) {
  train::StepMetrics m;
  m.add("loss", 0.25);
  m.add("loss", 0.5);
  m.max("steps_max", 3);
  m.max("steps_max", 7);
  m.max("steps_max", 5);
  m.set("grad_norm", 2.0);
  EXPECT_EQ(m["loss"], 0.75);
  EXPECT_EQ(m["steps_max"], 7);
  EXPECT_EQ(m["grad_norm"], 2.0);
  EXPECT_EQ(m["never recorded"], 0.0);
}
