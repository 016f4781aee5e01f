// eqt/train/weights.cpp — see weights.h.
#include "eqt/train/weights.h"

namespace eqt::train {

void swap_parameters(models::ModelImpl& model, std::vector<torch::Tensor>& a) {
  torch::NoGradGuard ng;
  auto params = model.parameters();
  TORCH_CHECK(a.size() == params.size(), "swap_parameters: ", a.size(), " tensors for ", params.size(), " parameters");
  for (size_t i = 0; i < a.size(); ++i) {
    auto raw = params[i].detach().clone();
    params[i].copy_(a[i]);
    a[i] = raw;
  }
}

}  // namespace eqt::train
