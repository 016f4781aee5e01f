// eqt/util/memory_meter.cpp — see memory_meter.h.
#include "eqt/util/memory_meter.h"

#include <torch/torch.h>
#include <torch/version.h>
#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>

// LibTorch 2.3 made Allocator::allocate non-const and added the pure copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define EQT_ALLOCATE_CONST
#define EQT_ALLOCATOR_HAS_COPY_DATA 1
#else
#define EQT_ALLOCATE_CONST const
#define EQT_ALLOCATOR_HAS_COPY_DATA 0
#endif

namespace eqt::util {
namespace {

std::atomic<int64_t> g_current{0};
std::atomic<int64_t> g_peak{0};
std::atomic<bool> g_installed{false};

void add_bytes(int64_t n) {
  int64_t now = g_current.fetch_add(n) + n;
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

// The inner allocator's blocks are handed out as they are (data pointer = context, as
// Allocator::raw_allocate requires: oneDNN's bf16 kernels allocate that way), with their
// sizes kept beside them for the deleter.
std::mutex g_sizes_mu;
std::unordered_map<void*, int64_t> g_sizes;  // under g_sizes_mu
c10::DeleterFnPtr g_inner_delete = nullptr;

void delete_counted(void* ptr) {
  if (!ptr) return;
  int64_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(g_sizes_mu);
    auto it = g_sizes.find(ptr);
    if (it != g_sizes.end()) {
      bytes = it->second;
      g_sizes.erase(it);
    }
  }
  g_current.fetch_sub(bytes);
  g_inner_delete(ptr);
}

class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* inner) : inner_(inner) {
    TORCH_CHECK(inner->raw_deleter() != nullptr, "MemoryMeter: the CPU allocator has no raw deleter to wrap");
    g_inner_delete = inner->raw_deleter();
  }

  c10::DataPtr allocate(size_t n) EQT_ALLOCATE_CONST override {
    c10::DataPtr d = inner_->allocate(n);
    TORCH_CHECK(d.get() == d.get_context(), "MemoryMeter: the CPU allocator returned a context-carrying block");
    const c10::Device dev = d.device();
    void* p = d.release_context();
    if (p) {
      std::lock_guard<std::mutex> lock(g_sizes_mu);
      g_sizes[p] = int64_t(n);
    }
    add_bytes(p ? int64_t(n) : 0);
    return {p, p, &delete_counted, dev};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &delete_counted; }
#if EQT_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    std::memcpy(dest, src, count);
  }
#endif

 private:
  c10::Allocator* inner_;
};

}  // namespace

void MemoryMeter::install() {
  bool expected = false;
  if (!g_installed.compare_exchange_strong(expected, true)) return;
  static CountingAllocator counting(c10::GetCPUAllocator());
  c10::SetCPUAllocator(&counting, /*priority=*/100);
}

bool MemoryMeter::installed() { return g_installed.load(); }
int64_t MemoryMeter::current_bytes() { return g_current.load(); }
int64_t MemoryMeter::peak_bytes() { return g_peak.load(); }
void MemoryMeter::reset_peak() { g_peak.store(g_current.load()); }

int64_t measure_peak_bytes(const std::function<void()>& fn) {
  MemoryMeter::install();
  MemoryMeter::reset_peak();
  const int64_t before = MemoryMeter::current_bytes();
  fn();
  return MemoryMeter::peak_bytes() - before;
}

}  // namespace eqt::util
