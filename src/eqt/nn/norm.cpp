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

torch::Tensor NormImpl::vjp(const torch::Tensor& x, const torch::Tensor& dy) {
  auto u = dy * weight_;  // (..., C) the gradient at the normalised x
  if (o_.kind() == "rms") {
    // y = x r w, r = (mean x^2 + eps)^-1/2, dr/dx = -r^3 x / C.
    auto r = torch::rsqrt(x.pow(2).mean(-1, true) + kNormEps);
    return r * u - x * r.pow(3) * (u * x).mean(-1, true);
  }
  // y = xhat w + b, xhat = (x - mean) / sigma: dx = (u - mean u - xhat mean(u xhat)) / sigma.
  auto mu = x.mean(-1, true);
  auto inv = torch::rsqrt((x - mu).pow(2).mean(-1, true) + kNormEps);
  auto xhat = (x - mu) * inv;
  return inv * (u - u.mean(-1, true) - xhat * (u * xhat).mean(-1, true));
}

}  // namespace eqt::nn
