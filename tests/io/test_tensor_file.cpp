// The tensor file round-trips exactly and rejects damaged files with a message naming them.
#include "eqt/io/tensor_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <tuple>

using namespace eqt;

namespace {

std::string tmp(const std::string& name) { return ::testing::TempDir() + name; }

io::TensorFile sample() {
  io::TensorFile f;
  f.meta = {{"model", {{"family", "deq"}}}, {"step", 12}};
  f.tensors = {{"a", torch::randn({3, 5})},
               {"b", torch::arange(7, torch::kLong)},
               {"c", torch::randn({2, 2}, torch::kFloat64)},
               {"empty", torch::zeros({0, 4})}};
  return f;
}

TEST(TensorFile, RoundTripsExactly) {
  auto f = sample();
  io::save_tensor_file(tmp("rt.eqtf"), f);
  auto g = io::load_tensor_file(tmp("rt.eqtf"));
  EXPECT_EQ(g.meta, f.meta);
  ASSERT_EQ(g.tensors.size(), f.tensors.size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    EXPECT_EQ(g.tensors[i].first, f.tensors[i].first);
    EXPECT_TRUE(torch::equal(g.tensors[i].second, f.tensors[i].second)) << f.tensors[i].first;
  }
  EXPECT_THROW(g.at("missing"), std::runtime_error);
}

void expect_rejected(const std::string& path, const std::string& words) {
  try {
    io::load_tensor_file(path);
    FAIL() << path << " was accepted";
  } catch (const std::runtime_error& e) {
    std::printf("  rejected: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(TensorFile, RejectsDamage) {
  io::save_tensor_file(tmp("good.eqtf"), sample());
  std::ifstream in(tmp("good.eqtf"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});

  auto write = [](const std::string& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; };
  write(tmp("trunc.eqtf"), bytes.substr(0, bytes.size() - 40));
  expect_rejected(tmp("trunc.eqtf"), "truncated");
  std::string magic = bytes;
  magic[0] = 'X';
  write(tmp("magic.eqtf"), magic);
  expect_rejected(tmp("magic.eqtf"), "bad magic");
  std::string version = bytes;
  version[4] = 9;
  write(tmp("version.eqtf"), version);
  expect_rejected(tmp("version.eqtf"), "version 9");
  std::string header = bytes;
  header[16] = '#';  // the opening brace of the JSON header
  write(tmp("header.eqtf"), header);
  expect_rejected(tmp("header.eqtf"), "corrupted header");
  expect_rejected(tmp("absent.eqtf"), "no such file");
}

// A file with this JSON header and 64 bytes of data (the float32 values 0 .. 15).
std::string craft(const std::string& header) {
  std::string b = "EQTF";
  uint32_t version = io::kTensorFileVersion;
  uint64_t hlen = header.size();
  b.append(reinterpret_cast<const char*>(&version), 4);
  b.append(reinterpret_cast<const char*>(&hlen), 8);
  b += header;
  b.append((b.size() + 63) / 64 * 64 - b.size(), '\0');
  for (int i = 0; i < 16; ++i) {
    float v = float(i);
    b.append(reinterpret_cast<const char*>(&v), 4);
  }
  return b;
}

std::string entry(const std::string& name, const std::string& offset, const std::string& nbytes = "16",
                  const std::string& shape = "[4]") {
  return R"({"name": ")" + name + R"(", "dtype": "float32", "shape": )" + shape + R"(, "offset": )" + offset +
         R"(, "nbytes": )" + nbytes + "}";
}

// Indexes a hostile or careless writer could produce: each was read from the wrong bytes,
// accepted, or crashed eqt before 0.2.
TEST(TensorFile, RejectsHostileIndexes) {
  auto write = [](const std::string& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; };
  auto index = [](const std::string& entries) { return R"({"meta": {}, "tensors": [)" + entries + "]}"; };
  write(tmp("ok.eqtf"), craft(index(entry("a", "16"))));
  auto ok = io::load_tensor_file(tmp("ok.eqtf"));
  EXPECT_EQ(ok.at("a")[0].item<float>(), 4.0f) << "the crafted file itself reads right";

  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"neg_offset", index(entry("a", "-1")), "offset -1; expected an integer >= 0"},
      {"frac_offset", index(entry("a", "1.5")), "offset 1.5; expected an integer >= 0"},
      {"wrap_offset", index(entry("a", "18446744073709551552")), "runs past the end"},
      {"wrap_nbytes", index(entry("a", "0", "18446744073709551600")), "size does not match"},
      {"neg_dim", index(entry("a", "0", "16", "[-4]")), "dimension -4"},
      {"huge_dims", index(entry("a", "0", "16", "[4294967296, 4294967296, 16]")), "more elements than the file"},
      {"duplicate", index(entry("a", "0") + ", " + entry("a", "16")), "'a' appears twice"},
      {"no_name", index(R"({"dtype": "float32", "shape": [4], "offset": 0, "nbytes": 16})"), "lacks 'name'"},
      {"deep", std::string(100000, '[') + std::string(100000, ']'), "nested deeper than"},
  };
  for (const auto& [name, header, words] : cases) {
    write(tmp(name + ".eqtf"), craft(header));
    expect_rejected(tmp(name + ".eqtf"), words);
  }
}

TEST(TensorFile, AFlippedDataByteIsCaughtByItsChecksum) {
  io::save_tensor_file(tmp("crc.eqtf"), sample());
  std::ifstream in(tmp("crc.eqtf"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  bytes[bytes.size() - 150] ^= 0x10;  // inside tensor a (the data is the last 3 x 64 bytes)
  std::ofstream(tmp("crc_flip.eqtf"), std::ios::binary) << bytes;
  expect_rejected(tmp("crc_flip.eqtf"), "CRC-32");
}

}  // namespace
