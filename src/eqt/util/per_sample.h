// eqt/util/per_sample.h — small helpers for tensors whose first dimension is the batch.
#pragma once

#include <torch/torch.h>

namespace eqt::util {

// (B, ...) -> (B,) L2 norm of each sample.
inline torch::Tensor sample_norm(const torch::Tensor& t) { return t.flatten(1).norm(2, 1); }

// (B,) -> (B, 1, ..., 1) with as many dims as like, for broadcasting against like.
inline torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = v.size(0);
  return v.view(shape);
}

}  // namespace eqt::util
