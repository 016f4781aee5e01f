// eqt/util/blas_check.h — is LibTorch multiplying matrices with a fast BLAS?
//
// Debian's LibTorch calls libblas.so.3, which the alternatives system points at OpenBLAS
// when libopenblas0-pthread is installed and at the reference BLAS otherwise (~20x slower).
// We read which file is really mapped into the process and time a GEMM.
#pragma once

#include <string>

namespace eqt::util {

struct BlasReport {
  std::string mapped;      // BLAS libraries mapped into this process (from /proc/self/maps)
  double gemm_gflops = 0;  // best of several 512x512 float32 matrix products
  bool reference = false;  // the slow reference BLAS is mapped
  bool slow() const;       // reference BLAS, or under 5 GFLOP/s
};

BlasReport check_blas();

}  // namespace eqt::util
