// eqt/train/collapse_watch.h — notices, from the numbers the trainer already has, the three
// ways a closed-loop run fails without a NaN, and says so in words:
//   at cap      the solve used its whole iteration cap for `patience` steps in a row: it is
//               not converging, and its answer is whatever the last iterate was;
//   diverging   the solve's mean final relative residual stayed above `diverge_res`;
//   at chance   the loss stayed within `chance_margin` of the entropy of the targets' own
//               frequencies (measured from the training batches): the model predicts no
//               better than a constant, e.g. ln 2 on parity, ~ln 9 on Sudoku.
// Each is reported once when it starts (after `patience` steps) and once when it ends.
// What it is not: a stopping rule. The run goes on; the user decides.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace eqt::train {

struct CollapseWatchOptions {
  TORCH_ARG(int64_t, cap) = 0;            // training iteration cap of the solve (0: no solve)
  TORCH_ARG(int64_t, patience) = 100;     // consecutive steps before a condition is reported
  TORCH_ARG(int64_t, grace) = 200;        // steps before "at chance" is checked (warm-up)
  TORCH_ARG(double, diverge_res) = 0.1;   // relative residual that counts as diverging
  TORCH_ARG(double, chance_margin) = 0.02;  // relative: loss >= (1 - margin) * entropy
};

class CollapseWatch {
 public:
  explicit CollapseWatch(CollapseWatchOptions o, int64_t vocab);
  // targets: (B, T) int64 with data::kIgnore where nothing is predicted.
  void observe_targets(const torch::Tensor& targets);
  // One optimizer step's figures -> messages to print (usually none).
  std::vector<std::string> update(int64_t step, double loss, double steps_mean, double residual_mean);
  double chance_loss() const;  // entropy (nats) of the targets seen so far

 private:
  struct Condition {
    const char* name;
    int64_t run = 0;  // consecutive steps it held
    bool reported = false;
  };
  std::string track(Condition& c, bool holds, int64_t step, const std::string& what);
  CollapseWatchOptions o_;
  torch::Tensor counts_;  // (V,) float64 target frequencies
  Condition cap_{"at cap"}, diverge_{"diverging"}, chance_{"at chance"};
};

}  // namespace eqt::train
