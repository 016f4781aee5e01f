// eqt/parallel/grad_sync_options.h — the settings of GradSync (grad_sync.h), apart so that
// the trainer's header names them without the communication code.
#pragma once

#include <torch/arg.h>

#include <cstdint>

namespace eqt::parallel {

struct GradSyncOptions {
  TORCH_ARG(int64_t, bucket_bytes) = 25 << 20;  // PyTorch DDP's default bucket size
  TORCH_ARG(bool, overlap) = true;              // false: reduce every bucket after backward
};

}  // namespace eqt::parallel
