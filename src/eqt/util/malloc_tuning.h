// eqt/util/malloc_tuning.h — keep freed tensor memory in the process instead of returning
// it to the kernel after every operation.
// glibc serves blocks above its mmap threshold (128 KiB at start) with a fresh mmap and
// gives them back with munmap on free, so every large temporary (attention scores: 5 MiB at
// T = 576) page-faults again on first touch. Raising the mmap threshold to its 32 MiB
// ceiling and the trim threshold to 1 GiB lets malloc reuse that memory. Measured on the
// 2-core CI machine, standard model d 96 x 3 layers, one forward of 512 tokens: 112 ms ->
// 17.5 ms; 128 tokens: 6.8 -> 2.6 ms (docs/performance.md). Set EQT_MALLOC_DEFAULT=1 to
// keep glibc's defaults. A no-op on other C libraries.
// What it is not: an allocator. Peak memory is unchanged; the freed memory stays mapped.
#pragma once

namespace eqt::util {

// Call once, early in main(). Returns whether the settings were applied.
bool keep_freed_memory();

}  // namespace eqt::util
