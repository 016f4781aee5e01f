// eqt/nn/mlp.cpp — see mlp.h.
#include "eqt/nn/mlp.h"

namespace eqt::nn {

MLPImpl::MLPImpl(const MLPOptions& o) : o_(o) {
  TORCH_CHECK(o.kind() == "relu2" || o.kind() == "swiglu" || o.kind() == "gelu",
              "mlp kind must be relu2, swiglu or gelu, got ", o.kind());
  auto lin = [](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)); };
  up_ = register_module("up", lin(o.d_model(), o.hidden()));
  if (o.kind() == "swiglu") gate_ = register_module("gate", lin(o.d_model(), o.hidden()));
  down_ = register_module("down", lin(o.hidden(), o.d_model()));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  if (o_.kind() == "relu2") return down_(0.5 * torch::relu(up_(x)).pow(2));
  if (o_.kind() == "gelu") return down_(torch::gelu(up_(x)));  // exact (erf) GELU, as torch.nn.GELU()
  return down_(torch::silu(up_(x)) * gate_(x));
}

}  // namespace eqt::nn
