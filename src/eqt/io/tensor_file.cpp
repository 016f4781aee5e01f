// eqt/io/tensor_file.cpp — see tensor_file.h.
#include "eqt/io/tensor_file.h"

#include "eqt/io/atomic_write.h"
#include "eqt/io/input_file.h"
#include "eqt/io/json_text.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

namespace eqt::io {
namespace {

const char kMagic[4] = {'E', 'Q', 'T', 'F'};

const std::vector<std::pair<std::string, torch::ScalarType>>& dtypes() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> d = {
      {"float32", torch::kFloat32}, {"float64", torch::kFloat64}, {"float16", torch::kFloat16},
      {"bfloat16", torch::kBFloat16}, {"int64", torch::kInt64}, {"int32", torch::kInt32},
      {"int8", torch::kInt8}, {"uint8", torch::kUInt8}, {"bool", torch::kBool}};
  return d;
}

std::string dtype_name(torch::ScalarType t) {
  for (const auto& [n, s] : dtypes())
    if (s == t) return n;
  throw std::runtime_error(std::string("tensor file: unsupported dtype ") + c10::toString(t));
}

uint64_t crc32_of(const void* data, uint64_t nbytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (nbytes > 0) {  // zlib takes uInt lengths
    const uInt n = uInt(std::min<uint64_t>(nbytes, 1u << 30));
    crc = crc32(crc, p, n);
    p += n;
    nbytes -= n;
  }
  return uint64_t(crc);
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("cannot read '" + path + "': " + what);
}

}  // namespace

const torch::Tensor& TensorFile::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw std::runtime_error("tensor file has no tensor named '" + name + "'");
}

void save_tensor_file(const std::string& path, const TensorFile& file) {
  nlohmann::json index = nlohmann::json::array();
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    uint64_t nbytes = c.numel() * c.element_size();
    index.push_back({{"name", name}, {"dtype", dtype_name(c.scalar_type())}, {"shape", c.sizes().vec()},
                     {"offset", offset}, {"nbytes", nbytes}, {"crc32", crc32_of(c.data_ptr(), nbytes)}});
    data.push_back(c);
    offset += (nbytes + 63) / 64 * 64;
  }
  const std::string header = nlohmann::json{{"meta", file.meta}, {"tensors", index}}.dump();
  write_atomically(path, [&](std::ostream& out) {
    uint32_t version = kTensorFileVersion;
    uint64_t hlen = header.size();
    out.write(kMagic, 4);
    out.write(reinterpret_cast<const char*>(&version), 4);
    out.write(reinterpret_cast<const char*>(&hlen), 8);
    out.write(header.data(), header.size());
    const uint64_t pre = 16 + hlen;
    std::string pad((pre + 63) / 64 * 64 - pre, '\0');
    out.write(pad.data(), pad.size());
    for (const auto& c : data) {
      uint64_t nbytes = c.numel() * c.element_size();
      out.write(static_cast<const char*>(c.data_ptr()), nbytes);
      std::string tail((nbytes + 63) / 64 * 64 - nbytes, '\0');
      out.write(tail.data(), tail.size());
    }
  });
}

TensorFile load_tensor_file(const std::string& path) {
  std::ifstream in;
  try {
    in = open_input_file(path, "checkpoint", kMaxInputBytes * 16);  // a FIFO or device would never end
  } catch (const std::invalid_argument& e) {
    fail(path, e.what());
  }
  in.seekg(0, std::ios::end);
  const uint64_t size = uint64_t(in.tellg());
  in.seekg(0);
  char magic[4];
  uint32_t version = 0;
  uint64_t hlen = 0;
  if (size < 16 || !in.read(magic, 4) || !in.read(reinterpret_cast<char*>(&version), 4) ||
      !in.read(reinterpret_cast<char*>(&hlen), 8))
    fail(path, "file too short to be an eqt tensor file");
  if (std::memcmp(magic, kMagic, 4) != 0) fail(path, "not an eqt tensor file (bad magic)");
  if (version != kTensorFileVersion)
    fail(path, "format version " + std::to_string(version) + ", this eqt reads version " +
                   std::to_string(kTensorFileVersion));
  if (hlen > size - 16) fail(path, "truncated header");
  std::string header(hlen, '\0');
  in.read(header.data(), hlen);
  nlohmann::json h;
  try {
    h = parse_json(header, "header");
  } catch (const std::exception& e) {
    fail(path, std::string("corrupted ") + e.what());
  }
  if (!h.contains("tensors") || !h["tensors"].is_array()) fail(path, "header lacks a tensor index");
  const uint64_t base = (16 + hlen + 63) / 64 * 64;
  if (base > size) fail(path, "truncated after the header");
  TensorFile file;
  file.meta = h.value("meta", nlohmann::json::object());
  std::set<std::string> seen;
  for (const auto& t : h["tensors"]) {
    // Every field is checked for its JSON type before use: a -1 or 1.5 converted to an
    // unsigned offset would point at the wrong bytes, and a claimed size is checked against
    // the file before anything of that size is allocated.
    auto field = [&](const char* key) -> const nlohmann::json& {
      if (!t.is_object() || !t.contains(key)) fail(path, "corrupted tensor index: an entry lacks '" + std::string(key) + "'");
      return t[key];
    };
    if (!field("name").is_string()) fail(path, "corrupted tensor index: a name is not a string");
    const auto name = field("name").get<std::string>();
    if (!seen.insert(name).second) fail(path, "tensor '" + name + "' appears twice");
    auto count = [&](const char* key) -> uint64_t {
      const auto& v = field(key);
      if (!v.is_number_unsigned()) fail(path, "tensor '" + name + "' has " + key + " " + v.dump() + "; expected an integer >= 0");
      return v.get<uint64_t>();
    };
    const uint64_t offset = count("offset"), nbytes = count("nbytes");
    const auto dname = field("dtype").is_string() ? field("dtype").get<std::string>() : field("dtype").dump();
    torch::ScalarType st = torch::kFloat32;
    bool known = false;
    for (const auto& [n, s] : dtypes())
      if (n == dname) st = s, known = true;
    if (!known) fail(path, "tensor '" + name + "' has unknown dtype '" + dname + "'");
    if (!field("shape").is_array()) fail(path, "tensor '" + name + "' has no shape array");
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& d : field("shape")) {
      if (!d.is_number_unsigned()) fail(path, "tensor '" + name + "' has dimension " + d.dump() + "; expected an integer >= 0");
      const uint64_t n = d.get<uint64_t>();
      if (n != 0 && numel > (size / n + 1)) fail(path, "tensor '" + name + "' claims more elements than the file holds");
      numel *= n;
      shape.push_back(int64_t(n));
    }
    if (numel * c10::elementSize(st) != nbytes) fail(path, "tensor '" + name + "' size does not match its shape");
    if (offset > size - base || nbytes > size - base - offset)  // no overflow: base <= size checked above
      fail(path, "truncated: tensor '" + name + "' runs past the end of the file");
    auto tensor = torch::empty(shape, torch::TensorOptions().dtype(st));
    in.seekg(std::streamoff(base + offset));
    if (!in.read(static_cast<char*>(tensor.data_ptr()), std::streamsize(nbytes))) fail(path, "cannot read tensor '" + name + "'");
    if (t.contains("crc32")) {  // files before 0.2 have none
      if (!t["crc32"].is_number_unsigned() || t["crc32"].get<uint64_t>() != crc32_of(tensor.data_ptr(), nbytes))
        fail(path, "tensor '" + name + "' is damaged (its CRC-32 does not match its bytes)");
    }
    file.tensors.emplace_back(name, tensor);
  }
  return file;
}

}  // namespace eqt::io
