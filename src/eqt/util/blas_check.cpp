// eqt/util/blas_check.cpp — see blas_check.h.
#include "eqt/util/blas_check.h"

#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <set>

namespace eqt::util {

bool BlasReport::slow() const { return reference || gemm_gflops < 5.0; }

BlasReport check_blas() {
  BlasReport r;
  torch::NoGradGuard no_grad;
  auto a = torch::randn({512, 512}), b = torch::randn({512, 512});
  auto c = torch::mm(a, b);  // also makes LibTorch load its BLAS
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    c = torch::mm(a, b);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  r.gemm_gflops = 2.0 * 512 * 512 * 512 / best / 1e9;

  std::ifstream maps("/proc/self/maps");
  std::set<std::string> libs;
  for (std::string line; std::getline(maps, line);) {
    auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    std::string path = line.substr(pos);
    if (path.find("blas") == std::string::npos) continue;
    libs.insert(path);
    // Debian's reference BLAS lives in .../blas/libblas.so.3; OpenBLAS in .../openblas-*/.
    if (path.find("/blas/libblas.so") != std::string::npos) r.reference = true;
  }
  for (const auto& l : libs) r.mapped += (r.mapped.empty() ? "" : ", ") + l;
  return r;
}

}  // namespace eqt::util
