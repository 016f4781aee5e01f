// cli/env_command.cpp — `eqt env`: what eqt runs on (LibTorch, BLAS, threads, devices, c10d).
// Exits non-zero when LibTorch multiplies matrices with the slow reference BLAS, so set-up
// scripts fail loudly instead of leaving a build that trains 20x slower.
#include "cli/commands.h"

#include "eqt/parallel/communicator.h"
#include "eqt/util/blas_check.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include <iostream>
#include <memory>

namespace eqt::cli {

void register_env(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("env", "Print LibTorch, BLAS and device facts; fail on a slow BLAS");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print one JSON object instead of text");
  cmd->callback([json, &exit_code] {
    auto blas = util::check_blas();
    nlohmann::json j = {
        {"eqt_version", EQT_VERSION},
        {"torch_version", TORCH_VERSION},
        {"threads", torch::get_num_threads()},
        {"cuda_available", torch::cuda::is_available()},
        {"cuda_devices", torch::cuda::device_count()},
        {"blas_mapped", blas.mapped},
        {"gemm_gflops", blas.gemm_gflops},
        {"blas_ok", !blas.slow()},
        {"c10d_backends", parallel::available_backends()},
    };
    if (*json) {
      std::cout << j.dump() << "\n";
    } else {
      std::cout << fmt::format("eqt {}  LibTorch {}  threads {}  CUDA devices {}\n", EQT_VERSION,
                               TORCH_VERSION, torch::get_num_threads(), torch::cuda::device_count());
      std::cout << fmt::format("BLAS: {}\nGEMM 512x512 float32: {:.1f} GFLOP/s\n",
                               blas.mapped.empty() ? "(none mapped)" : blas.mapped, blas.gemm_gflops);
      std::cout << fmt::format("c10d backends (data-parallel training): {}\n", parallel::available_backends());
    }
    if (blas.slow()) {
      std::cerr << "eqt env: LibTorch is using a slow BLAS (" << blas.gemm_gflops
                << " GFLOP/s" << (blas.reference ? ", reference libblas" : "")
                << "). Install libopenblas0-pthread (apt-get install libopenblas0-pthread).\n";
      exit_code = 1;
    }
  });
}

}  // namespace eqt::cli
