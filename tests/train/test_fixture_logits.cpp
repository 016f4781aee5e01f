// Run folders written before issue 27 (tests/fixtures/v0.2, made by eqt at dfdc7f5; how, in
// its make_fixtures.sh) give today the logits that eqt gave then, bit for bit: the config
// split into sections, the family rows, the forward options and the renamed keys changed no
// number. Each folder holds the tokens of its first held-out batch and that binary's logits.
// The kernels are pinned as they were when the fixtures were made (OPENBLAS_CORETYPE=Nehalem
// from ctest, since OpenBLAS reads it when it loads; ATen's default CPU kernels and one
// BLAS thread set here before the first tensor operation), so the comparison is exact on
// any x86-64 CPU; run by hand without OPENBLAS_CORETYPE, last-bit differences are expected.
#include "eqt/io/tensor_file.h"
#include "eqt/train/run_folder.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

using namespace eqt;

namespace {

TEST(FixtureLogits, RunsOfTheVersionBeforeGiveTheSameLogitsBitForBit) {
  ::setenv("ATEN_CPU_CAPABILITY", "default", 1);  // read at ATen's first dispatch, which is below
  if (auto set_threads = reinterpret_cast<void (*)(int)>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_threads(1);
  torch::set_num_threads(1);
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  std::printf("  kernels: OPENBLAS_CORETYPE=%s, ATen default, one thread\n", core ? core : "(unset: not pinned)");
  const std::string root = std::string(EQT_TEST_SOURCE_DIR) + "/fixtures/v0.2";
  int runs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    const std::string dir = entry.path().string(), file = dir + "/logits_before27.eqtf";
    if (!entry.is_directory() || !std::filesystem::exists(file)) continue;
    const auto before = io::load_tensor_file(file);
    auto run = train::open_run(dir);
    auto& model = *run.ck.model;
    model.eval();
    torch::NoGradGuard ng;
    const auto tokens = before.at("tokens");
    // The held-out set is regenerated from the run's task options (the maze's old "loops"
    // key included): the same tokens, or the logits would not be comparable.
    EXPECT_TRUE(torch::equal(run.task->eval_batches(16).front().tokens, tokens)) << dir << ": held-out tokens differ";
    const auto logits = model.forward(tokens).logits;
    const auto& old = before.at("logits");
    ASSERT_EQ(logits.sizes(), old.sizes()) << dir;
    const double diff = (logits - old).abs().max().item<double>();
    std::printf("  %s: max |logits - before| = %.3g over %lld values\n", entry.path().filename().c_str(), diff,
                (long long)old.numel());
    EXPECT_TRUE(torch::equal(logits, old)) << dir << ": logits differ from the version before (max |d| " << diff << ")";
    ++runs;
  }
  EXPECT_GE(runs, 6) << "fixtures missing in " << root;
}

}  // namespace
