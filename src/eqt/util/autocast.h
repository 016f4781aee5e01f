// eqt/util/autocast.h — mixed-precision scopes over LibTorch's autocast, one code path for
// LibTorch 1.13 (per-device functions: set_cpu_enabled, set_enabled) and 2.4+ (functions
// taking a device type).
//
// Under bf16 autocast, matrix products (linear, matmul, bmm, ...) run in bfloat16 while the
// parameters stay float32 (the optimizer updates float32 master weights). Arithmetic that
// must not lose precision opts out with NoAutocast: the solvers' least-squares systems,
// residual norms and stop tests (solve/solver.cpp) run in float32 / float64 whatever the
// model's forward does.
// What it is not: a loss scaler (bfloat16 has float32's exponent range: no scaling needed).
#pragma once

#include <torch/torch.h>

#include <string>

namespace eqt::util {

enum class Precision { FP32, BF16 };
// "fp32" | "bf16"; std::invalid_argument naming the value otherwise.
Precision parse_precision(const std::string& name);
std::string to_string(Precision p);

// In scope: autocast for device's type on (to dtype) or off; the previous state is restored
// on exit, and the cast cache is cleared when the outermost enabled scope ends.
class AutocastScope {
 public:
  AutocastScope(torch::DeviceType device, bool enabled, at::ScalarType dtype = at::kBFloat16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  torch::DeviceType device_;
  bool was_enabled_, enabled_;
  at::ScalarType was_dtype_;
};

// Whether products on device's type now run in a 16-bit float under autocast (so a map's
// output carries ~2^-9 relative rounding).
bool low_precision_active(torch::DeviceType device);

// Autocast off on the CPU and CUDA in scope.
class NoAutocast {
 public:
  NoAutocast() : cpu_(torch::kCPU, false), cuda_(torch::kCUDA, false) {}

 private:
  AutocastScope cpu_, cuda_;
};

}  // namespace eqt::util
