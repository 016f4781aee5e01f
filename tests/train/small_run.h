// tests/train/small_run.h — the small parity task, model configs and scratch folders the
// trainer tests share.
#pragma once

#include "eqt/data/parity.h"
#include "eqt/models/model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

namespace eqt::test {

inline std::shared_ptr<data::Task> small_parity(int64_t n_train = 256) {
  data::ParityOptions p;
  p.length = 8;
  p.n_train = n_train;
  p.n_test = 64;
  return std::make_shared<data::ParityTask>(p);
}

// vocab 2, d_model 16, 2 heads, 1 layer; EqT refines 2 steps over a window of 3.
inline models::ModelConfig small_config(const std::string& family) {
  auto c = models::ModelConfig::preset(family);
  c.vocab = 2;
  c.block.d_model = 16;
  c.block.n_heads = 2;
  c.n_layers = 1;
  c.eqt.steps = c.eqt.eval_steps = 2;
  c.eqt.rev_window = 3;
  c.solver.train_min_iter = 0;
  return c;
}

// An empty folder under the test's temporary directory.
inline std::string fresh_dir(const std::string& name) {
  auto d = ::testing::TempDir() + name;
  std::filesystem::remove_all(d);
  return d;
}

}  // namespace eqt::test
