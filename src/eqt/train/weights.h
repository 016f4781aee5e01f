// eqt/train/weights.h — swapping a second set of weights (the EMA) into a model, by hand or
// for a scope: validation and evaluation measure the EMA weights, training updates the raw
// ones, and an exception between the two swaps must not leave the model holding the EMA.
// And setting a model's weights from named tensors, checked by name and shape.
#pragma once

#include "eqt/models/model.h"

#include <map>
#include <string>
#include <vector>

namespace eqt::train {

// Swaps tensors `a` into the model's parameters and the parameters into `a` (EMA <-> raw).
void swap_parameters(models::ModelImpl& model, std::vector<torch::Tensor>& a);

// Sets every parameter and buffer of `to` from `tensors` (by name), which must hold exactly
// those names with the same shapes, else std::invalid_argument naming `label` (where the
// weights come from) and the first tensor missing, extra or of another shape. The one way
// weights enter a model from outside: `eqt import` (both layouts) and `eqt train --init-from`.
void load_named_tensors(models::ModelImpl& to, const std::map<std::string, torch::Tensor>& tensors,
                        const std::string& label);

// `from`'s parameters and buffers by name (what load_named_tensors takes).
std::map<std::string, torch::Tensor> named_tensors(const models::ModelImpl& from);

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
