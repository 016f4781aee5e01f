// Device independence (runs where LibTorch sees a CUDA GPU; skipped, saying so, elsewhere;
// ctest label `cuda`): a run trained on the GPU, in float32 and in bf16, writes a checkpoint
// that evaluates on the CPU to the GPU's metrics (loss within 1e-4 relative: the same
// weights, different kernels), and resumes on the CPU; and a CPU checkpoint evaluates on
// the GPU the same way.
#include "eqt/train/evaluate.h"
#include "eqt/train/trainer.h"
#include "train/small_run.h"

#include <gtest/gtest.h>

using namespace eqt;

namespace {

std::shared_ptr<models::ModelImpl> tiny(const std::string& family) {
  torch::manual_seed(0);
  return models::make_model(test::small_config(family));
}

double loss_on(const std::string& ckpt, torch::Device dev, const data::Task& task) {
  auto ck = train::load_checkpoint(ckpt);
  ck.model->to(dev);
  return train::evaluate(*ck.model, task, 64)["loss"].get<double>();
}

class Device : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(Device, CheckpointsMoveBetweenGpuAndCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: this test runs where a GPU is present";
  const auto [family, precision] = GetParam();
  auto task = test::small_parity(128);
  train::TrainOptions o;
  o.steps = 4;
  o.batch = 16;
  o.warmup = 1;
  o.log_every = 100;
  o.precision = precision;
  const std::string dir = test::fresh_dir("eqt_device_" + family + "_" + precision);
  auto model = tiny(family);
  model->to(torch::kCUDA);
  train::Trainer(model, task, o, dir).run();
  const double gpu = loss_on(dir + "/checkpoint.eqt", torch::kCUDA, *task);
  const double cpu = loss_on(dir + "/checkpoint.eqt", torch::kCPU, *task);
  std::printf("  %s %s: eval loss of the GPU-trained checkpoint on cuda %.6f, on cpu %.6f\n", family.c_str(),
              precision.c_str(), gpu, cpu);
  EXPECT_NEAR(cpu, gpu, 1e-4 * std::abs(gpu));
  // ... and it resumes on the CPU.
  auto ck = train::load_checkpoint(dir + "/checkpoint.eqt");
  o.steps = 6;
  train::Trainer more(ck.model, task, o, dir);
  more.resume(ck);
  EXPECT_EQ(more.run().step, 6);
}

INSTANTIATE_TEST_SUITE_P(Families, Device,
                         ::testing::Combine(::testing::Values("standard", "attractor", "eqt"),
                                            ::testing::Values("fp32", "bf16")),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

}  // namespace
