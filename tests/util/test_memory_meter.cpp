// The counting allocator sees exactly the tensor bytes a piece of code holds at its peak.
#include "eqt/util/memory_meter.h"

#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

#include <cmath>

#include <gtest/gtest.h>

using namespace eqt;

namespace {

TEST(MemoryMeter, CountsExactBytesAndPeak) {
  util::MemoryMeter::install();
  const int64_t before = util::MemoryMeter::current_bytes();
  {
    auto t = torch::empty({1000}, torch::kFloat64);  // 8000 bytes
    EXPECT_EQ(util::MemoryMeter::current_bytes() - before, 8000);
  }
  EXPECT_EQ(util::MemoryMeter::current_bytes(), before);

  int64_t peak = util::measure_peak_bytes([] {
    auto a = torch::empty({1 << 18});  // 1 MiB each, three alive at once
    auto b = torch::empty({1 << 18});
    auto c = torch::empty({1 << 18});
  });
  std::printf("  peak of three live 1 MiB tensors: %lld bytes\n", (long long)peak);
  EXPECT_EQ(peak, 3 << 20);

  int64_t sequential = util::measure_peak_bytes([] {
    for (int i = 0; i < 3; ++i) auto a = torch::empty({1 << 18});
  });
  EXPECT_EQ(sequential, 1 << 20);
}

TEST(MemoryMeter, SeesAutogradSavedTensors) {
  util::MemoryMeter::install();
  auto w = torch::randn({256, 256}, torch::requires_grad());
  auto x = torch::randn({64, 256});
  auto chain = [&](int n) {
    return util::measure_peak_bytes([&] {
      auto h = x;
      for (int i = 0; i < n; ++i) h = torch::tanh(h.matmul(w));
      h.sum().backward();
    });
  };
  int64_t p4 = chain(4), p16 = chain(16);
  std::printf("  tanh chain peak: 4 layers %lld B, 16 layers %lld B\n", (long long)p4, (long long)p16);
  EXPECT_GT(p16, 3 * p4 / 2);  // saved activations grow with depth
}

}  // namespace

// oneDNN's bf16 kernels allocate through Allocator::raw_allocate, which requires blocks whose
// data pointer is their context: with the meter installed, a bf16 training step crashed
// ("dptr.get() == dptr.get_context()") before the meter handed out raw blocks.
TEST(MemoryMeter, RawAllocationsAndBf16KernelsWork) {
  util::MemoryMeter::install();
  auto* a = c10::GetCPUAllocator();
  const int64_t before = util::MemoryMeter::current_bytes();
  void* p = a->raw_allocate(1000);
  EXPECT_EQ(util::MemoryMeter::current_bytes() - before, 1000);
  a->raw_deleter()(p);
  EXPECT_EQ(util::MemoryMeter::current_bytes(), before);
  auto x = torch::randn({64, 64}, torch::kBFloat16), w = torch::randn({64, 64}, torch::kBFloat16);
  auto y = torch::nn::functional::linear(x, w).sum().item<double>();
  EXPECT_TRUE(std::isfinite(y));
}
