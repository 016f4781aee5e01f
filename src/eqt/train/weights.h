// eqt/train/weights.h — swapping a second set of weights (the EMA) into a model, by hand or
// for a scope: validation and evaluation measure the EMA weights, training updates the raw
// ones, and an exception between the two swaps must not leave the model holding the EMA.
// And copying one model's weights into another of the same architecture, checked by name.
#pragma once

#include "eqt/models/model.h"

#include <string>
#include <vector>

namespace eqt::train {

// Swaps tensors `a` into the model's parameters and the parameters into `a` (EMA <-> raw).
void swap_parameters(models::ModelImpl& model, std::vector<torch::Tensor>& a);

// Copies `from`'s parameters (or `from_values`, one tensor per parameter of `from` in its
// order, e.g. its EMA; empty: the parameters themselves) into `to`, matched by name: the
// two models must have the same parameter names with the same shapes, else
// std::invalid_argument naming the first tensor missing, extra or of another shape, and
// `label` (where the weights come from). Buffers with matching names are copied too.
// This is how a run starts from another's weights (`eqt train --init-from`).
void copy_weights_by_name(const models::ModelImpl& from, const std::vector<torch::Tensor>& from_values,
                          models::ModelImpl& to, const std::string& label);

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
