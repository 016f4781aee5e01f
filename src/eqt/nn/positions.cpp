// eqt/nn/positions.cpp — see positions.h.
#include "eqt/nn/positions.h"

namespace eqt::nn {

torch::Tensor apply_rope(const torch::Tensor& x, int64_t pos0, double base) {
  return apply_rope(x, torch::arange(pos0, pos0 + x.size(2), x.options()), base);
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& pos, double base) {
  const int64_t hd = x.size(3), half = hd / 2;
  TORCH_CHECK(hd % 2 == 0, "RoPE needs an even head dimension, got ", hd);
  TORCH_CHECK(pos.dim() == 1 || (pos.dim() == 2 && pos.size(0) == x.size(0)), "RoPE positions ", pos.sizes(),
              " for a batch of ", x.size(0));
  auto opt = x.options();
  auto freq = torch::pow(base, -torch::arange(0, half, opt) * 2.0 / double(hd));  // (half,)
  auto ang = pos.to(opt).unsqueeze(-1) * freq;                                   // (T, half) or (B, T, half)
  if (ang.dim() == 3) ang = ang.unsqueeze(1);                                     // (B, 1, T, half): every head
  auto cos = ang.cos(), sin = ang.sin();
  auto x1 = x.narrow(3, 0, half), x2 = x.narrow(3, half, half);  // (B, H, T, half)
  return torch::cat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, 3);
}

torch::Tensor sinusoidal_positions(int64_t T, int64_t C, int64_t pos0, const torch::TensorOptions& opt) {
  return sinusoidal_positions(torch::arange(pos0, pos0 + T, opt), C, opt);
}

torch::Tensor sinusoidal_positions(const torch::Tensor& pos, int64_t C, const torch::TensorOptions& opt) {
  auto i2 = torch::arange(0, C, 2, opt);                                     // (C/2,)
  auto ang = pos.to(opt).unsqueeze(-1) * torch::pow(10000.0, -i2 / double(C));  // (..., C/2)
  auto shape = pos.sizes().vec();
  shape.push_back(C);
  auto pe = torch::zeros(shape, opt);  // (..., C)
  pe.slice(-1, 0, C, 2).copy_(ang.sin());
  pe.slice(-1, 1, C, 2).copy_(ang.cos().narrow(-1, 0, C / 2));
  return pe;
}

}  // namespace eqt::nn
