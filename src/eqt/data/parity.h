// eqt/data/parity.h — cumulative parity (REFERENCE 3): bits b_1..b_L, targets
// y_t = b_1 xor ... xor b_t at every position. Tokens are 0 / 1; the train and test sets are
// fixed functions of the seed (different streams for each), as in the EqT experiment
// (32,768 training and 4,096 test sequences by default).
#pragma once

#include "eqt/data/task.h"

namespace eqt::data {

struct ParityOptions {
  int64_t length = 16;
  int64_t n_train = 32768;
  int64_t n_test = 4096;
  uint64_t seed = 0;
};

class ParityTask final : public Task {
 public:
  explicit ParityTask(const ParityOptions& o);
  std::string name() const override { return "parity"; }
  int64_t vocab() const override { return 2; }
  int64_t seq_len() const override { return o_.length; }
  bool causal() const override { return true; }
  Batch train_batch(int64_t batch_size, at::Generator& gen) override;
  std::vector<Batch> eval_batches(int64_t batch_size) const override;
  nlohmann::json options() const override;

  // (N, L) bits -> (N, L) cumulative parities.
  static torch::Tensor cumulative_parity(const torch::Tensor& bits);

 private:
  ParityOptions o_;
  torch::Tensor train_bits_, test_bits_;  // (N, L) int64
};

}  // namespace eqt::data
