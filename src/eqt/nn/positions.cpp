// eqt/nn/positions.cpp — see positions.h.
#include "eqt/nn/positions.h"

namespace eqt::nn {

torch::Tensor apply_rope(const torch::Tensor& x, int64_t pos0, double base) {
  const int64_t T = x.size(2), hd = x.size(3), half = hd / 2;
  TORCH_CHECK(hd % 2 == 0, "RoPE needs an even head dimension, got ", hd);
  auto opt = x.options();
  auto freq = torch::pow(base, -torch::arange(0, half, opt) * 2.0 / double(hd));  // (half,)
  auto pos = torch::arange(pos0, pos0 + T, opt);                                  // (T,)
  auto ang = pos.unsqueeze(1) * freq.unsqueeze(0);                                // (T, half)
  auto cos = ang.cos(), sin = ang.sin();
  auto x1 = x.narrow(3, 0, half), x2 = x.narrow(3, half, half);  // (B, H, T, half)
  return torch::cat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, 3);
}

torch::Tensor sinusoidal_positions(int64_t T, int64_t C, int64_t pos0, const torch::TensorOptions& opt) {
  auto pos = torch::arange(pos0, pos0 + T, opt).unsqueeze(1);                 // (T, 1)
  auto i2 = torch::arange(0, C, 2, opt);                                      // (C/2,)
  auto ang = pos * torch::pow(10000.0, -i2 / double(C)).unsqueeze(0);         // (T, C/2)
  auto pe = torch::zeros({T, C}, opt);
  pe.slice(1, 0, C, 2).copy_(ang.sin());
  pe.slice(1, 1, C, 2).copy_(ang.cos().narrow(1, 0, C / 2));
  return pe;
}

}  // namespace eqt::nn
