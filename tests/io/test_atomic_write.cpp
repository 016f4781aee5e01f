// A write that fails (here: the disk is full, by pointing PATH.tmp at /dev/full) leaves no
// PATH.tmp behind, keeps the previous PATH byte for byte, and names PATH in its error; a
// write that succeeds replaces PATH whole. Both writers of run folders use it.
#include "eqt/io/atomic_write.h"
#include "eqt/io/tensor_file.h"
#include "eqt/io/text_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace eqt;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fresh_dir(const std::string& name) {
  auto d = ::testing::TempDir() + "eqt_atomic_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(AtomicWrite, DiskFullLeavesNoTmpAndTheOldFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  const auto d = fresh_dir("full");
  const std::string text = d + "/eval.json", tensors = d + "/checkpoint.eqt";
  io::write_text_file(text, "old\n");
  io::TensorFile f;
  f.meta = {{"step", 1}};
  f.tensors.push_back({"w", torch::arange(1000, torch::kFloat32)});
  io::save_tensor_file(tensors, f);
  const auto old_text = slurp(text), old_tensors = slurp(tensors);
  for (const auto& path : {text, tensors}) {
    fs::create_symlink("/dev/full", path + ".tmp");  // every write to PATH.tmp fails with ENOSPC
    std::string err;
    try {
      if (path == text) io::write_text_file(path, std::string(1 << 20, 'x'));
      else io::save_tensor_file(path, f);
    } catch (const std::runtime_error& e) {
      err = e.what();
    }
    std::printf("  %s: %s\n", fs::path(path).filename().c_str(), err.c_str());
    EXPECT_NE(err.find(path), std::string::npos) << "the error must name the file: " << err;
    EXPECT_FALSE(fs::exists(fs::symlink_status(path + ".tmp"))) << path << ".tmp left behind";
  }
  EXPECT_EQ(slurp(text), old_text);
  EXPECT_EQ(slurp(tensors), old_tensors);
  EXPECT_EQ(io::load_tensor_file(tensors).meta["step"], 1);
}

TEST(AtomicWrite, AThrowingWriterLeavesNoTmp) {
  const auto d = fresh_dir("throw");
  const std::string path = d + "/x.txt";
  EXPECT_THROW(io::write_atomically(path, [](std::ostream& out) {
                 out << "partial";
                 throw std::runtime_error("the producer failed");
               }),
               std::runtime_error);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_FALSE(fs::exists(path));
  io::write_atomically(path, [](std::ostream& out) { out << "whole"; });
  EXPECT_EQ(slurp(path), "whole");
}

}  // namespace
