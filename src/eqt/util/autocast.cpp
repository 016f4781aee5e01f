// eqt/util/autocast.cpp — see autocast.h.
#include "eqt/util/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <stdexcept>

// LibTorch 2.4 replaced the per-device autocast functions by ones taking a device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define EQT_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace eqt::util {
namespace {

bool is_on(torch::DeviceType d) {
#ifdef EQT_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(d);
#else
  return d == torch::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

void set_on(torch::DeviceType d, bool on) {
#ifdef EQT_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(d, on);
#else
  if (d == torch::kCPU) at::autocast::set_cpu_enabled(on);
  else at::autocast::set_enabled(on);
#endif
}

at::ScalarType dtype_of(torch::DeviceType d) {
#ifdef EQT_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(d);
#else
  return d == torch::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void set_dtype(torch::DeviceType d, at::ScalarType t) {
#ifdef EQT_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(d, t);
#else
  if (d == torch::kCPU) at::autocast::set_autocast_cpu_dtype(t);
  else at::autocast::set_autocast_gpu_dtype(t);
#endif
}

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  throw std::invalid_argument("precision '" + name + "' is invalid; expected fp32 or bf16");
}

std::string to_string(Precision p) { return p == Precision::BF16 ? "bf16" : "fp32"; }

bool low_precision_active(torch::DeviceType device) {
  if (device != torch::kCPU && device != torch::kCUDA) return false;
  const auto t = dtype_of(device);
  return is_on(device) && (t == at::kBFloat16 || t == at::kHalf);
}

AutocastScope::AutocastScope(torch::DeviceType device, bool enabled, at::ScalarType dtype)
    : device_(device), was_enabled_(is_on(device)), enabled_(enabled), was_dtype_(dtype_of(device)) {
  TORCH_CHECK(device == torch::kCPU || device == torch::kCUDA, "autocast: device type ", device,
              " is not supported (cpu or cuda)");
  if (enabled) {
    set_dtype(device, dtype);
    at::autocast::increment_nesting();
  }
  set_on(device, enabled);
}

AutocastScope::~AutocastScope() {
  set_on(device_, was_enabled_);
  set_dtype(device_, was_dtype_);
  // The cache of weights cast to the lower precision lives as long as the outermost region.
  if (enabled_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace eqt::util
