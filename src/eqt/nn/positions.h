// eqt/nn/positions.h — position encodings.
// RoPE (half-split pairing): for head dim h and i < h/2, frequency base^(-2i/h); the pair
// (x_i, x_{i+h/2}) at position p is rotated by angle p * freq_i.
// Sinusoidal: PE[p, 2i] = sin(p / 10000^(2i/C)), PE[p, 2i+1] = cos(p / 10000^(2i/C)).
#pragma once

#include <torch/torch.h>

namespace eqt::nn {

// x: (B, H, T, hd) at absolute positions pos0 .. pos0+T-1. Returns the rotated x.
torch::Tensor apply_rope(const torch::Tensor& x, int64_t pos0, double base);
// The same at positions pos: (T,) shared by the rows, or (B, T) one row each (a ragged batch).
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& pos, double base);

// (T, C) sinusoidal table for positions pos0 .. pos0+T-1.
torch::Tensor sinusoidal_positions(int64_t T, int64_t C, int64_t pos0, const torch::TensorOptions& opt);
// (..., C) sinusoidal encodings of the positions pos (...), in opt's dtype and device.
torch::Tensor sinusoidal_positions(const torch::Tensor& pos, int64_t C, const torch::TensorOptions& opt);

}  // namespace eqt::nn
