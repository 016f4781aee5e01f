// tests/models/tiny.h — tiny configurations of every family for the model tests.
#pragma once

#include "eqt/models/family.h"
#include "eqt/models/model.h"

#include <string>
#include <vector>

namespace eqt::test {

inline const std::vector<std::string>& families() {
  static const std::vector<std::string> f = models::family_names();
  return f;
}

// The families with incremental decoding (generate, serve): the decoding tests iterate these.
inline const std::vector<std::string>& decoding_families() {
  static const std::vector<std::string> f = models::decoding_families();
  return f;
}

inline models::ModelConfig tiny(const std::string& family) {
  models::ModelConfig c = models::ModelConfig::preset(family);
  c.vocab = 16;
  c.max_seq = 64;
  c.block.d_model = 32;
  c.block.n_heads = 2;
  c.n_layers = 2;
  c.block.init_std = 0.1;  // larger than the default, so the loops have something to do
  c.looped.loops = 3;
  c.looped.backprop_last = 2;
  c.deq.layers = 1;
  c.attractor.head_layers = 1;
  c.solver.train_tol = 1e-5;
  c.solver.train_min_iter = 0;
  c.solver.train_max_iter = 100;
  c.solver.eval_tol = 1e-5;
  c.solver.eval_min_iter = 0;
  c.solver.eval_max_iter = 100;
  c.eqt.steps = 2;
  c.eqt.eval_steps = 2;
  c.eqt.rev_window = 4;
  c.n_layers = family == "eqt" ? 1 : 2;
  c.validate();
  return c;
}

}  // namespace eqt::test
