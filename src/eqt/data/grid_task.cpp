// eqt/data/grid_task.cpp — see grid_task.h.
#include "eqt/data/grid_task.h"

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace eqt::data {
namespace {

torch::Tensor stack_rows(const std::vector<GridExample>& ex, bool targets) {
  const int64_t n = int64_t(ex.size()), t = int64_t(ex[0].tokens.size());
  auto out = torch::empty({n, t}, torch::kLong);
  auto* p = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& v = targets ? ex[size_t(i)].targets : ex[size_t(i)].tokens;
    std::copy(v.begin(), v.end(), p + i * t);
  }
  return out;
}

}  // namespace

GridTask::GridTask(std::string name, int64_t vocab, std::vector<GridExample> train, std::vector<GridExample> test,
                   Augment augment, std::string rating_name, nlohmann::json options)
    : name_(std::move(name)), vocab_(vocab), train_(std::move(train)), augment_(std::move(augment)),
      options_(std::move(options)) {
  if (train_.empty() || test.empty())
    throw std::invalid_argument(name_ + ": the " + std::string(train_.empty() ? "training" : "held-out") +
                                " set is empty (an empty puzzle file?); expected at least one puzzle in each");
  seq_len_ = int64_t(train_[0].tokens.size());
  for (const auto* set : {&train_, &test})
    for (const auto& e : *set)
      TORCH_CHECK(int64_t(e.tokens.size()) == seq_len_ && int64_t(e.targets.size()) == seq_len_, name_,
                  ": examples of different sizes (", e.tokens.size(), " vs ", seq_len_, ")");
  test_tokens_ = stack_rows(test, false);
  test_targets_ = stack_rows(test, true);
  // Difficulty buckets at the terciles of the test ratings.
  std::vector<int64_t> r;
  for (const auto& e : test) r.push_back(e.rating);
  std::vector<int64_t> sorted = r;
  std::sort(sorted.begin(), sorted.end());
  const int64_t cut1 = sorted[sorted.size() / 3], cut2 = sorted[2 * sorted.size() / 3];
  std::vector<int64_t> lo(3, INT64_MAX), hi(3, INT64_MIN);
  test_bucket_ = torch::empty({int64_t(r.size())}, torch::kLong);
  for (size_t i = 0; i < r.size(); ++i) {
    const int64_t k = r[i] < cut1 ? 0 : r[i] < cut2 ? 1 : 2;  // ties go up, so a bucket may be empty
    test_bucket_[int64_t(i)] = k;
    lo[size_t(k)] = std::min(lo[size_t(k)], r[i]);
    hi[size_t(k)] = std::max(hi[size_t(k)], r[i]);
  }
  for (size_t k = 0; k < 3; ++k)
    bucket_names_.push_back(lo[k] > hi[k] ? rating_name + " (none)"
                                          : rating_name + " " + std::to_string(lo[k]) +
                                                (hi[k] > lo[k] ? "-" + std::to_string(hi[k]) : ""));
}

Batch GridTask::train_batch(int64_t batch_size, at::Generator& gen) {
  auto idx = torch::randint(int64_t(train_.size()), {batch_size}, gen, torch::kLong);
  auto seeds = torch::randint(int64_t(1) << 62, {batch_size}, gen, torch::kLong);  // one augmentation stream each
  std::vector<GridExample> picked;
  for (int64_t i = 0; i < batch_size; ++i) {
    GridExample e = train_[size_t(idx[i].item<int64_t>())];
    if (augment_) {
      std::mt19937_64 rng(uint64_t(seeds[i].item<int64_t>()));
      augment_(e, rng);
    }
    picked.push_back(std::move(e));
  }
  return {stack_rows(picked, false), stack_rows(picked, true), {}};
}

std::vector<Batch> GridTask::eval_batches(int64_t batch_size) const {
  std::vector<Batch> out;
  const int64_t n = test_tokens_.size(0);
  for (int64_t s = 0; s < n; s += batch_size) {
    const int64_t m = std::min(batch_size, n - s);
    out.push_back({test_tokens_.narrow(0, s, m), test_targets_.narrow(0, s, m), test_bucket_.narrow(0, s, m)});
  }
  return out;
}

std::pair<std::vector<GridExample>, std::vector<GridExample>> split_examples(std::vector<GridExample> all,
                                                                             int64_t n_test,
                                                                             const std::string& what) {
  if (n_test < 1 || int64_t(all.size()) < n_test + 1)
    throw std::invalid_argument(what + ": " + std::to_string(all.size()) + " puzzles cannot give " +
                                std::to_string(n_test) + " test puzzles and at least one for training");
  std::vector<GridExample> test(all.end() - n_test, all.end());
  all.resize(all.size() - size_t(n_test));
  return {std::move(all), std::move(test)};
}

}  // namespace eqt::data
