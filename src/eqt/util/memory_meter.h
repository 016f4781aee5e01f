// eqt/util/memory_meter.h — exact peak-memory measurement of CPU tensor storage.
//
// What it is: a counting wrapper around c10's CPU allocator. Once installed, every CPU
// tensor allocation is counted (current and peak bytes), so "extra peak memory of a
// forward + backward" is a measured number, not a formula.
// What it is not: a process RSS meter. Memory that bypasses c10's allocator (BLAS scratch,
// autograd node objects) is not counted; CUDA memory has its own allocator statistics.
#pragma once

#include <cstdint>
#include <functional>

namespace eqt::util {

class MemoryMeter {
 public:
  static void install();          // idempotent; wraps the CPU allocator in force now
  static bool installed();
  static int64_t current_bytes();  // live bytes allocated since install
  static int64_t peak_bytes();
  static void reset_peak();        // peak := current
};

// Runs fn and returns the peak bytes it held above what was live just before it.
int64_t measure_peak_bytes(const std::function<void()>& fn);

}  // namespace eqt::util
