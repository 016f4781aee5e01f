// Resuming from a checkpoint reproduces the uninterrupted run's losses exactly, and damaged
// or mismatched checkpoints are rejected with a message naming the file.
#include "eqt/data/parity.h"
#include "eqt/io/tensor_file.h"
#include "eqt/models/family.h"
#include "eqt/train/trainer.h"
#include "train/small_run.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

using namespace eqt;

namespace {

using test::small_parity;

models::ModelConfig small_model(const std::string& family) { return test::small_config(family); }

train::TrainOptions opts(const std::string& precision = "fp32") {
  train::TrainOptions o;
  o.precision = precision;
  o.steps = 6;
  o.batch = 8;
  o.warmup = 2;
  o.lr = 3e-3;
  o.log_every = 100;
  return o;
}

std::string dir(const std::string& name) { return test::fresh_dir("eqt_resume_" + name); }

// (family, precision): a bf16 run resumes exactly too (the same operations in the same order).
class Resume : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(Resume, LossesEqualAnUninterruptedRun) {
  const auto [family, precision] = GetParam();
  const std::string name = family + "_" + precision;
  auto task = small_parity();
  torch::manual_seed(0);
  auto a = models::make_model(small_model(family));
  auto full = train::Trainer(a, task, opts(precision), dir("a_" + name)).run();
  ASSERT_EQ(full.losses.size(), 6u);

  torch::manual_seed(0);
  auto b = models::make_model(small_model(family));
  const std::string db = dir("b_" + name);
  auto first = train::Trainer(b, task, opts(precision), db).run(3);
  torch::manual_seed(12345);  // disturb the global generator: resume must restore it
  auto ck = train::load_checkpoint(db + "/checkpoint.eqt");
  EXPECT_EQ(ck.meta["step"], 3);
  auto c = models::make_model(ck.model->config());
  train::Trainer second(c, task, opts(precision), db);
  second.resume(ck);
  auto rest = second.run();
  ASSERT_EQ(first.losses.size() + rest.losses.size(), 6u);
  double worst = 0;
  for (size_t i = 0; i < 6; ++i) {
    double r = i < 3 ? first.losses[i] : rest.losses[i - 3];
    worst = std::max(worst, std::abs(r - full.losses[i]) / std::abs(full.losses[i]));
  }
  std::printf("  %s: max relative loss difference resumed vs uninterrupted %.3e\n", name.c_str(), worst);
  EXPECT_LT(worst, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Families, Resume,
                         ::testing::Combine(::testing::ValuesIn(models::family_names()),
                                            ::testing::Values("fp32", "bf16")),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

// A run killed after its last checkpoint has already logged the steps past it; the resumed
// run logs them again. metrics.jsonl must end with one line per step, not both copies.
TEST(ResumeMetrics, OneLinePerStepAfterAKill) {
  auto task = small_parity();
  auto o = opts();
  o.log_every = 1;
  const std::string d = dir("metrics");
  torch::manual_seed(0);
  auto m = models::make_model(small_model("standard"));
  train::Trainer(m, task, o, d).run(2);  // checkpoint at step 2
  const auto ckpt = d + "/checkpoint.eqt", saved = d + "/at_step_2.eqt";
  std::filesystem::copy_file(ckpt, saved);
  torch::manual_seed(0);
  auto m2 = models::make_model(small_model("standard"));
  train::Trainer killed(m2, task, o, d);
  killed.resume(train::load_checkpoint(ckpt));
  killed.run(5);  // steps 3..5 logged, then "killed": its checkpoint at 5 is lost
  std::filesystem::rename(saved, ckpt);
  { std::ofstream(d + "/metrics.jsonl", std::ios::app) << "{\"step\": 6, \"loss\": 0.6"; }  // a torn line
  auto ck = train::load_checkpoint(ckpt);
  auto m3 = models::make_model(ck.model->config());
  train::Trainer resumed(m3, task, o, d);
  resumed.resume(ck);
  resumed.run();
  std::ifstream in(d + "/metrics.jsonl");
  std::map<int64_t, int> per_step;
  std::string line;
  int64_t lines = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);  // a torn line left behind would throw here
    if (j.contains("loss")) ++per_step[j["step"].get<int64_t>()];
    ++lines;
  }
  std::printf("  metrics.jsonl: %lld lines, %zu distinct training steps\n", (long long)lines, per_step.size());
  ASSERT_EQ(per_step.size(), 6u);
  for (const auto& [step, n] : per_step) EXPECT_EQ(n, 1) << "step " << step << " logged " << n << " times";
}

TEST(Checkpoint, DamagedFilesAreRejectedClearly) {
  auto task = small_parity();
  torch::manual_seed(0);
  auto m = models::make_model(small_model("attractor"));
  const std::string d = dir("damage");
  train::Trainer(m, task, opts(), d).run(1);
  const std::string good = d + "/checkpoint.eqt";
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});

  auto expect_error = [](const std::string& path, const std::string& words) {
    try {
      train::load_checkpoint(path);
      FAIL() << path << " was accepted";
    } catch (const std::runtime_error& e) {
      std::printf("  rejected: %s\n", e.what());
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  std::ofstream(d + "/trunc.eqt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_error(d + "/trunc.eqt", "truncated");
  std::string flipped = bytes;
  flipped[17] = '!';
  std::ofstream(d + "/header.eqt", std::ios::binary) << flipped;
  expect_error(d + "/header.eqt", "corrupted header");

  io::TensorFile other;  // a valid tensor file that is not a checkpoint
  other.tensors = {{"x", torch::zeros({2})}};
  io::save_tensor_file(d + "/other.eqt", other);
  expect_error(d + "/other.eqt", "not an eqt checkpoint");

  auto f = io::load_tensor_file(good);  // a checkpoint whose tensor does not fit its model
  for (auto& [name, t] : f.tensors)
    if (name == "model.embed.table") t = torch::zeros({3, 3});
  io::save_tensor_file(d + "/shape.eqt", f);
  expect_error(d + "/shape.eqt", "model.embed.table");

  // Metadata that lies: each is refused by name before a model is built from it.
  const auto base = io::load_tensor_file(good);
  auto with_meta = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    auto g = base;
    edit(g.meta);
    io::save_tensor_file(d + "/" + name + ".eqt", g);
    return d + "/" + name + ".eqt";
  };
  expect_error(with_meta("wide", [](auto& m) { m["model"]["block"]["d_model"] = 4096; }), "describes at least");
  expect_error(with_meta("mlp", [](auto& m) { m["model"]["block"]["mlp_mult"] = 1e6; }), "describes at least");
  expect_error(with_meta("step", [](auto& m) { m["step"] = -1000; }), "meta.step = -1000");
  expect_error(with_meta("notask", [](auto& m) { m.erase("task"); }), "has no task");
  expect_error(with_meta("vocab", [](auto& m) { m["model"]["vocab"] = "many"; }), "bad model config");
  expect_error(with_meta("init", [](auto& m) { m["model"]["block"]["init_std"] = -1; }), "block.init_std");
  expect_error(with_meta("array", [](auto& m) { m = nlohmann::json::array(); }), "not an eqt checkpoint");
}

}  // namespace
