// The tensor file round-trips exactly and rejects damaged files with a message naming them.
#include "eqt/io/tensor_file.h"

#include <gtest/gtest.h>

#include <fstream>

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

}  // namespace
