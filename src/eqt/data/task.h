// eqt/data/task.h — what a training task hands the trainer: batches of token ids and
// per-position targets, and the metrics it reports on its held-out set.
// What it is not: a model; tasks know nothing of families or solvers.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

namespace eqt::data {

constexpr int64_t kIgnore = -100;  // target value that no loss or metric counts

struct Batch {
  torch::Tensor tokens;   // (B, T) int64 inputs
  torch::Tensor targets;  // (B, T) int64, kIgnore where nothing is predicted
  torch::Tensor bucket;   // (B,) int64 difficulty bucket of each sequence (held-out batches
                          // of tasks with buckets only; undefined otherwise)
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual int64_t vocab() const = 0;
  virtual int64_t seq_len() const = 0;
  virtual bool causal() const = 0;  // whether the model may see only the past
  // A training batch drawn with gen (deterministic given its state).
  virtual Batch train_batch(int64_t batch_size, at::Generator& gen) = 0;
  // The held-out set, in fixed batches.
  virtual std::vector<Batch> eval_batches(int64_t batch_size) const = 0;
  // How `eqt eval` breaks accuracy down: "length" (per position: the prefix length, for
  // parity), "difficulty" (per Batch::bucket, named by bucket_names()), or "" (none).
  virtual std::string breakdown_by() const { return "length"; }
  virtual std::vector<std::string> bucket_names() const { return {}; }
  // Bytes of text per token of the held-out set (text: 1 for bytes, ~3-4 for subwords), so
  // bits per byte = mean loss per token / ln 2 / bytes_per_token(); 1 for the other tasks.
  virtual double bytes_per_token() const { return 1.0; }
  // The task's options, stored in checkpoints so `eqt eval` rebuilds the same task.
  virtual nlohmann::json options() const = 0;
};

}  // namespace eqt::data
