// eqt/data/parity.cpp — see parity.h.
#include "eqt/data/parity.h"

#include <stdexcept>

namespace eqt::data {

ParityTask::ParityTask(const ParityOptions& o) : o_(o) {
  if (o.length < 1) throw std::invalid_argument("parity --length " + std::to_string(o.length) + " must be >= 1");
  if (o.n_train < 1 || o.n_test < 1) throw std::invalid_argument("parity set sizes must be >= 1");
  auto train_gen = at::make_generator<at::CPUGeneratorImpl>(o.seed * 2 + 1);
  auto test_gen = at::make_generator<at::CPUGeneratorImpl>(o.seed * 2 + 2);
  train_bits_ = torch::randint(2, {o.n_train, o.length}, train_gen, torch::kLong);
  test_bits_ = torch::randint(2, {o.n_test, o.length}, test_gen, torch::kLong);
}

torch::Tensor ParityTask::cumulative_parity(const torch::Tensor& bits) { return bits.cumsum(1).remainder(2); }

Batch ParityTask::train_batch(int64_t batch_size, at::Generator& gen) {
  auto idx = torch::randint(o_.n_train, {batch_size}, gen, torch::kLong);
  auto bits = train_bits_.index_select(0, idx);
  return {bits, cumulative_parity(bits), {}};
}

std::vector<Batch> ParityTask::eval_batches(int64_t batch_size) const {
  std::vector<Batch> out;
  for (int64_t s = 0; s < o_.n_test; s += batch_size) {
    auto bits = test_bits_.narrow(0, s, std::min(batch_size, o_.n_test - s));
    out.push_back({bits, cumulative_parity(bits), {}});
  }
  return out;
}

nlohmann::json ParityTask::options() const {
  return {{"length", o_.length}, {"n_train", o_.n_train}, {"n_test", o_.n_test}, {"seed", o_.seed}};
}

}  // namespace eqt::data
