// eqt/io/tensor_file.h — eqt's file of named tensors with JSON metadata.
//
// Layout (little-endian):
//   "EQTF"            4 bytes magic
//   u32 version       format version (1)
//   u64 header_bytes  length of the JSON header
//   header            {"meta": {...}, "tensors": [{"name", "dtype", "shape", "offset", "nbytes", "crc32"}]}
//   zero padding to a multiple of 64, then the tensor data (offsets relative to its start)
// Metadata is free-form JSON, so new fields never break old readers; readers ignore tensors
// they do not ask for. Written atomically (io/atomic_write.h); every load checks magic,
// version, the header's nesting depth and JSON, each entry's field types (offsets and sizes
// must be JSON integers >= 0: no -1, no 1.5), unique names, dtypes, shapes and sizes against
// the file length (without overflow, before allocating), and each tensor's CRC-32 (zlib;
// files written before 0.2 have none and load unchecked), naming the file in its errors.
// tests/reference/tensor_file.py reads the same format.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace eqt::io {

constexpr uint32_t kTensorFileVersion = 1;

struct TensorFile {
  nlohmann::json meta = nlohmann::json::object();
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  const torch::Tensor& at(const std::string& name) const;  // throws naming the missing tensor
};

void save_tensor_file(const std::string& path, const TensorFile& file);
TensorFile load_tensor_file(const std::string& path);  // throws std::runtime_error

}  // namespace eqt::io
