// eqt/train/row_carry.cpp — see row_carry.h.
#include "eqt/train/row_carry.h"

#include <stdexcept>

namespace eqt::train {

const RowCarry::Rows& RowCarry::next(data::Task& task, int64_t batch, at::Generator& gen) {
  if (!keep_.defined() || !keep_.any().item<bool>()) {
    // Nothing kept: a whole new batch, drawn as the task draws it.
    rows_.batch = task.train_batch(batch, gen);
    rows_.fresh = rows_.steps = rows_.state = torch::Tensor();  // all fresh: nothing allocated
  } else {
    if (keep_.size(0) != batch)
      throw std::logic_error("RowCarry: " + std::to_string(keep_.size(0)) + " rows kept of a batch of " +
                             std::to_string(batch));
    auto refill = torch::nonzero(~keep_).squeeze(1);  // (n_fresh,) row indices, ascending
    const int64_t n = refill.numel();
    rows_.fresh = ~keep_;
    const auto before = rows_.steps.defined() ? rows_.steps : torch::zeros({batch}, torch::kLong);  // (B,)
    rows_.steps = (before + 1).masked_fill(rows_.fresh, 0);
    if (n > 0) {
      auto drawn = task.train_batch(n, gen);  // (n, T)
      rows_.batch.tokens = rows_.batch.tokens.index_copy(0, refill, drawn.tokens);
      rows_.batch.targets = rows_.batch.targets.index_copy(0, refill, drawn.targets);
    }
  }
  keep_ = torch::Tensor();
  return rows_;
}

void RowCarry::settle(const torch::Tensor& keep, const torch::Tensor& state) {
  keep_ = keep.defined() ? keep.to(torch::kCPU, torch::kBool) : torch::Tensor();  // (B,)
  rows_.state = state.defined() ? state.detach() : torch::Tensor();
}

}  // namespace eqt::train
