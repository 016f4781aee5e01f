// eqt/train/step_metrics.h — one optimizer step's figures, by name.
//
// A figure is either summed (per-sample means already weighted by the caller's share of the
// global batch, so the sum over micro-batches and ranks is the global mean) or a maximum.
// reduce() combines them over the ranks of a data-parallel run by name: the names are sorted,
// so every rank packs the same figure into the same slot. Every rank must record the same
// names (the training step records each one on every micro-batch, 0 where it has none).
// What it is not: a logger (trainer.cpp writes the lines) or a running average over steps.
#pragma once

#include <map>
#include <string>

namespace eqt::parallel {
class Communicator;
}

namespace eqt::train {

class StepMetrics {
 public:
  void add(const std::string& name, double v) { sums_[name] += v; }
  void max(const std::string& name, double v);
  void set(const std::string& name, double v) { sums_[name] = v; }  // a figure of the whole step
  // The figure, or 0 if it was never recorded.
  double operator[](const std::string& name) const;
  bool has(const std::string& name) const { return sums_.count(name) || maxes_.count(name); }
  // Sums and maxima over the ranks of comm (every rank calls it with the same names).
  void reduce(parallel::Communicator& comm);

 private:
  std::map<std::string, double> sums_, maxes_;
};

}  // namespace eqt::train
