// eqt/util/flop_count.h — floating-point operations of the matrix products a piece of code
// runs, counted as they run.
//
// What it is: while a FlopCount is alive, every matrix product LibTorch executes in this
// process (aten::mm, addmm, bmm, baddbmm, mv, addmv, dot: what Linear layers, matmul and
// attention lower to, in the forward and in autograd's backward alike) adds 2·M·K·N to the
// count, read from its operands' shapes by a RecordFunction observer. Nothing is estimated
// from a model's description: recomputed forwards, solver iterations, gradient-free cycles
// and backward products are counted exactly as often as they run.
// What it is not: a profiler (no time is taken), or a count of elementwise work (norms,
// softmax, activations): those are memory-bound, and a FLOP-time floor leaves them out.
// One FlopCount at a time per process (the count is global: backward may run on other threads).
#pragma once

#include <cstdint>

namespace eqt::util {

class FlopCount {
 public:
  FlopCount();   // starts counting from 0
  ~FlopCount();  // stops counting
  FlopCount(const FlopCount&) = delete;
  FlopCount& operator=(const FlopCount&) = delete;
  double flops() const;  // counted so far

 private:
  uint64_t handle_;
};

}  // namespace eqt::util
