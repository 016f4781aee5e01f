// eqt/train/row_carry.h — what lives across optimizer steps for each row of the batch.
//
// The seam for deep supervision (REFERENCE 6; issue 28): one example is trained for several
// supervision steps, a loss and an optimizer step each, its latent state carried (detached)
// from one step to the next, and a row whose example is finished (halted, or out of steps)
// gets a fresh example and a fresh state. The trainer asks next() for each micro-batch's
// global batch and hands the outcome back with settle().
// Without anything kept (every family today), every row is fresh at every step and next()
// draws exactly what task.train_batch(B, gen) draws, so training is unchanged bit for bit.
// Kept rows keep their tokens, targets, state and count; fresh rows are drawn in one call
// task.train_batch(n_fresh, gen) and placed in row order.
// What it is not: a halting rule (the model decides which rows stay) or a model's state
// layout (state is any (B, ...) tensor; undefined when the family carries none).
#pragma once

#include "eqt/data/task.h"

#include <torch/torch.h>

#include <map>
#include <string>

namespace eqt::train {

class RowCarry {
 public:
  struct Rows {
    data::Batch batch;    // (B, T) tokens and targets of the rows' examples
    // fresh, steps and state are undefined when every row is fresh (nothing was kept): the
    // common case allocates nothing beyond the batch.
    torch::Tensor fresh;  // (B,) bool: the row's example is new this step (its state reset)
    torch::Tensor state;  // (B, ...) the carried state (undefined: none); the rows marked fresh
                          // hold a finished example's state: the model starts them anew
    torch::Tensor steps;  // (B,) int64: supervision steps the row's example has had before this one
  };
  // The rows of this step: the kept ones, and fresh examples in the others' places.
  const Rows& next(data::Task& task, int64_t batch, at::Generator& gen);
  // After the step: keep (B,) bool, which rows stay for another step (undefined: none);
  // state (B, ...) their state to carry (detached here; undefined: none).
  void settle(const torch::Tensor& keep, const torch::Tensor& state);
  const Rows& rows() const { return rows_; }
  // What next() needs to continue after a restart (checkpoint.h's "carry.*" tensors): empty
  // when nothing is kept. restore() takes it back; the state goes to `device`. A snapshot
  // that does not fit a batch of `batch` rows is std::invalid_argument naming the sizes.
  std::map<std::string, torch::Tensor> snapshot() const;
  void restore(const std::map<std::string, torch::Tensor>& s, int64_t batch, const torch::Device& device);

 private:
  Rows rows_;
  torch::Tensor keep_;  // (B,) bool from the last settle(); undefined: draw every row
};

}  // namespace eqt::train
