// eqt/train/weights.h — swapping a second set of weights (the EMA) into a model, by hand or
// for a scope: validation and evaluation measure the EMA weights, training updates the raw
// ones, and an exception between the two swaps must not leave the model holding the EMA.
#pragma once

#include "eqt/models/model.h"

#include <vector>

namespace eqt::train {

// Swaps tensors `a` into the model's parameters and the parameters into `a` (EMA <-> raw).
void swap_parameters(models::ModelImpl& model, std::vector<torch::Tensor>& a);

// Swaps `a` in for the scope (nothing when `a` is empty) and back out when it ends.
class ScopedWeights {
 public:
  ScopedWeights(models::ModelImpl& model, std::vector<torch::Tensor>& a) : model_(model), a_(a) {
    if (!a_.empty()) swap_parameters(model_, a_);
  }
  ~ScopedWeights() {
    if (!a_.empty()) swap_parameters(model_, a_);
  }
  ScopedWeights(const ScopedWeights&) = delete;
  ScopedWeights& operator=(const ScopedWeights&) = delete;

 private:
  models::ModelImpl& model_;
  std::vector<torch::Tensor>& a_;
};

}  // namespace eqt::train
