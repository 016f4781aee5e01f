// eqt/io/tensor_file.cpp — see tensor_file.h.
#include "eqt/io/tensor_file.h"

#include <cstdio>
#include <cstring>
#include <fstream>
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
                     {"offset", offset}, {"nbytes", nbytes}});
    data.push_back(c);
    offset += (nbytes + 63) / 64 * 64;
  }
  const std::string header = nlohmann::json{{"meta", file.meta}, {"tensors", index}}.dump();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write '" + tmp + "'");
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
    out.flush();
    if (!out) throw std::runtime_error("short write to '" + tmp + "' (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "'");
  }
}

TensorFile load_tensor_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, "no such file or not readable");
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
    h = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    fail(path, std::string("corrupted header: ") + e.what());
  }
  if (!h.contains("tensors") || !h["tensors"].is_array()) fail(path, "header lacks a tensor index");
  const uint64_t base = (16 + hlen + 63) / 64 * 64;
  TensorFile file;
  file.meta = h.value("meta", nlohmann::json::object());
  for (const auto& t : h["tensors"]) {
    try {
      auto name = t.at("name").get<std::string>();
      auto dname = t.at("dtype").get<std::string>();
      auto shape = t.at("shape").get<std::vector<int64_t>>();
      auto offset = t.at("offset").get<uint64_t>(), nbytes = t.at("nbytes").get<uint64_t>();
      torch::ScalarType st = torch::kFloat32;
      bool known = false;
      for (const auto& [n, s] : dtypes())
        if (n == dname) st = s, known = true;
      if (!known) fail(path, "tensor '" + name + "' has unknown dtype '" + dname + "'");
      int64_t numel = 1;
      for (auto d : shape) {
        if (d < 0) fail(path, "tensor '" + name + "' has a negative dimension");
        numel *= d;
      }
      if (uint64_t(numel) * c10::elementSize(st) != nbytes) fail(path, "tensor '" + name + "' size does not match its shape");
      if (base + offset + nbytes > size) fail(path, "truncated: tensor '" + name + "' runs past the end of the file");
      auto tensor = torch::empty(shape, torch::TensorOptions().dtype(st));
      in.seekg(base + offset);
      if (!in.read(static_cast<char*>(tensor.data_ptr()), nbytes)) fail(path, "cannot read tensor '" + name + "'");
      file.tensors.emplace_back(name, tensor);
    } catch (const nlohmann::json::exception& e) {
      fail(path, std::string("corrupted tensor index: ") + e.what());
    }
  }
  return file;
}

}  // namespace eqt::io
