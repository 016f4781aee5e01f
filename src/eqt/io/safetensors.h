// eqt/io/safetensors.h — the safetensors format (Hugging Face), read and written without a
// library: what PyTorch users load with `safetensors.torch.load_file` (or, without that
// package, python/eqt_safetensors.py).
//
// Layout: u64 little-endian N; N bytes of JSON header {"__metadata__": {str: str},
// "<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...} (padded
// with spaces to a multiple of 8); then the data, offsets relative to its start, row-major,
// little-endian. eqt writes the tensors in the order given, contiguous, without holes.
// Reading checks, naming the file, before allocating anything a header claims: the header
// length against the file, the JSON (depth-limited), every entry's fields and dtype, shape
// sizes without overflow, each tensor's byte count against its shape, offsets inside the
// data, no two tensors overlapping, and no bytes the header does not account for.
// What it is not: a lazy or memory-mapped loader (the file is read whole).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace eqt::io {

struct SafeTensors {
  std::map<std::string, std::string> metadata;                    // "__metadata__"
  std::vector<std::pair<std::string, torch::Tensor>> tensors;     // in file order
  const torch::Tensor* find(const std::string& name) const;       // nullptr if absent
};

// Tensors must be on the CPU or movable there; dtypes float64/32/16, bfloat16, int64/32/16/8,
// uint8, bool. Written atomically (io/atomic_write.h).
void save_safetensors(const std::string& path, const SafeTensors& file);
// std::runtime_error naming the file and what is wrong with it.
SafeTensors load_safetensors(const std::string& path);

}  // namespace eqt::io
