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

std::map<std::string, torch::Tensor> RowCarry::snapshot() const {
  if (!keep_.defined() || !keep_.any().item<bool>()) return {};  // the next batch is all new
  std::map<std::string, torch::Tensor> s = {{"keep", keep_}, {"tokens", rows_.batch.tokens}, {"targets", rows_.batch.targets}};
  if (rows_.steps.defined()) s["steps"] = rows_.steps;
  if (rows_.state.defined()) s["state"] = rows_.state;
  return s;
}

void RowCarry::restore(const std::map<std::string, torch::Tensor>& s, int64_t batch, const torch::Device& device) {
  rows_ = Rows{};
  keep_ = torch::Tensor();
  if (s.empty()) return;
  for (const char* k : {"keep", "tokens", "targets"})
    if (!s.count(k)) throw std::invalid_argument(std::string("carried rows: no '") + k + "' in the checkpoint");
  const auto& keep = s.at("keep");
  if (keep.dim() != 1 || keep.size(0) != batch || s.at("tokens").size(0) != batch)
    throw std::invalid_argument("carried rows: the checkpoint carries " + std::to_string(keep.size(0)) +
                                " rows, the batch is " + std::to_string(batch) +
                                "; resume with the batch size the run was trained with");
  keep_ = keep.to(torch::kBool);
  rows_.batch.tokens = s.at("tokens");
  rows_.batch.targets = s.at("targets");
  if (s.count("steps")) rows_.steps = s.at("steps");
  if (s.count("state")) rows_.state = s.at("state").to(device);
}

void RowCarry::settle(const torch::Tensor& keep, const torch::Tensor& state) {
  keep_ = keep.defined() ? keep.to(torch::kCPU, torch::kBool) : torch::Tensor();  // (B,)
  rows_.state = state.defined() ? state.detach() : torch::Tensor();
}

}  // namespace eqt::train
