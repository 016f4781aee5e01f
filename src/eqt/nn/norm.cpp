// eqt/nn/norm.cpp — see norm.h.
#include "eqt/nn/norm.h"

namespace eqt::nn {

NormImpl::NormImpl(const NormOptions& o) : o_(o) {
  TORCH_CHECK(o.kind() == "rms" || o.kind() == "layer", "norm kind must be rms or layer, got ", o.kind());
  weight_ = register_parameter("weight", torch::ones({o.dim()}));
  if (o.kind() == "layer") bias_ = register_parameter("bias", torch::zeros({o.dim()}));
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  if (o_.kind() == "rms") return rms_normalize(x) * weight_;
  return torch::layer_norm(x, {o_.dim()}, weight_, bias_, kNormEps);
}

}  // namespace eqt::nn
