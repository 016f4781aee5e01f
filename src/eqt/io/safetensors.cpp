// eqt/io/safetensors.cpp — see safetensors.h.
#include "eqt/io/safetensors.h"

#include "eqt/io/atomic_write.h"
#include "eqt/io/input_file.h"
#include "eqt/io/json_text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace eqt::io {
namespace {

constexpr uint64_t kMaxHeader = uint64_t(100) << 20;  // the reference implementation's limit

const std::vector<std::pair<std::string, torch::ScalarType>>& dtypes() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> d = {
      {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
      {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
      {"U8", torch::kUInt8},    {"BOOL", torch::kBool}};
  return d;
}

std::string dtype_name(torch::ScalarType t) {
  for (const auto& [n, s] : dtypes())
    if (s == t) return n;
  throw std::invalid_argument(std::string("safetensors: dtype ") + c10::toString(t) + " has no safetensors name");
}

}  // namespace

const torch::Tensor* SafeTensors::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

void save_safetensors(const std::string& path, const SafeTensors& file) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    if (name == "__metadata__" || header.contains(name))
      throw std::invalid_argument("safetensors: tensor name '" + name + "' is reserved or repeated");
    auto c = t.detach().to(torch::kCPU).contiguous();
    const uint64_t n = uint64_t(c.numel()) * c.element_size();
    header[name] = {{"dtype", dtype_name(c.scalar_type())}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
    offset += n;
    data.push_back(c);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  write_atomically(path, [&](std::ostream& out) {
    const uint64_t n = text.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = (unsigned char)((n >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const auto& c : data) out.write(static_cast<const char*>(c.data_ptr()), std::streamsize(c.numel() * c.element_size()));
  });
}

SafeTensors load_safetensors(const std::string& path) {
  auto in = open_input_file(path, "safetensors file");
  auto bad = [&](const std::string& what) { return std::runtime_error("safetensors file '" + path + "': " + what); };
  in.seekg(0, std::ios::end);
  const uint64_t size = uint64_t(in.tellg());
  in.seekg(0);
  if (size < 8) throw bad("it has " + std::to_string(size) + " bytes; a safetensors file starts with an 8-byte header length");
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
  if (n > size - 8 || n > kMaxHeader)
    throw bad("its header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
              " bytes) or over 100 MiB");
  std::string text(n, '\0');
  in.read(text.data(), std::streamsize(n));
  const nlohmann::json header = parse_json(text, "the header of safetensors file '" + path + "'");
  if (!header.is_object()) throw bad("its header is not a JSON object");
  const uint64_t data_size = size - 8 - n;
  SafeTensors out;
  struct Entry {
    std::string name;
    torch::ScalarType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (const auto& [name, e] : header.items()) {
    if (name == "__metadata__") {
      if (!e.is_object()) throw bad("__metadata__ is not an object of strings");
      for (const auto& [k, v] : e.items()) {
        if (!v.is_string()) throw bad("__metadata__ entry '" + k + "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      throw bad(where + " lacks dtype, shape or data_offsets");
    if (!e["dtype"].is_string()) throw bad(where + ": dtype is not a string");
    auto it = std::find_if(dtypes().begin(), dtypes().end(), [&](const auto& d) { return d.first == e["dtype"]; });
    if (it == dtypes().end()) throw bad(where + ": unknown dtype " + e["dtype"].dump() + " (eqt reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    Entry en{name, it->second, {}, 0, 0};
    if (!e["shape"].is_array()) throw bad(where + ": shape is not a list");
    uint64_t count = 1;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) throw bad(where + ": shape " + e["shape"].dump() + " holds a non-integer or negative size");
      const uint64_t v = d.get<uint64_t>();
      if (v != 0 && count > std::numeric_limits<uint64_t>::max() / v) throw bad(where + ": shape " + e["shape"].dump() + " overflows");
      count *= v;
      en.shape.push_back(int64_t(v));
    }
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw bad(where + ": data_offsets " + off.dump() + " is not [begin, end] of integers >= 0");
    en.begin = off[0].get<uint64_t>();
    en.end = off[1].get<uint64_t>();
    const uint64_t item = uint64_t(c10::elementSize(en.dtype));
    if (en.begin > en.end || en.end > data_size)
      throw bad(where + ": data_offsets " + off.dump() + " lie outside the " + std::to_string(data_size) + " data bytes");
    if (count > std::numeric_limits<uint64_t>::max() / item || en.end - en.begin != count * item)
      throw bad(where + ": " + std::to_string(en.end - en.begin) + " bytes for shape " + e["shape"].dump() + " of " +
                e["dtype"].get<std::string>());
    entries.push_back(en);
  }
  // The tensors tile the data: sorted by offset, each begins where the previous ends.
  std::vector<const Entry*> by_offset;
  for (const auto& en : entries) by_offset.push_back(&en);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  uint64_t at = 0;
  for (const auto* en : by_offset) {
    if (en->begin < at) throw bad("tensor '" + en->name + "' overlaps the tensor before it");
    if (en->begin > at) throw bad("bytes " + std::to_string(at) + ".." + std::to_string(en->begin) + " belong to no tensor");
    at = en->end;
  }
  if (at != data_size) throw bad(std::to_string(data_size - at) + " bytes at the end belong to no tensor");
  const uint64_t base = 8 + n;
  for (const auto* en : by_offset) {
    auto t = torch::empty(en->shape, torch::TensorOptions().dtype(en->dtype));
    in.seekg(std::streamoff(base + en->begin));
    in.read(static_cast<char*>(t.data_ptr()), std::streamsize(en->end - en->begin));
    if (!in) throw bad("reading tensor '" + en->name + "' failed");
    out.tensors.emplace_back(en->name, t);
  }
  return out;
}

}  // namespace eqt::io
