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

inline models::ModelConfig tiny(const std::string& family) {
  models::ModelConfig c = models::ModelConfig::preset(family);
  c.vocab = 16;
  c.max_seq = 64;
  c.d_model = 32;
  c.n_heads = 2;
  c.n_layers = 2;
  c.init_std = 0.1;  // larger than the default, so the loops have something to do
  c.loops = 3;
  c.backprop_last = 2;
  c.deq_layers = 1;
  c.head_layers = 1;
  c.train_tol = 1e-5;
  c.train_min_iter = 0;
  c.train_max_iter = 100;
  c.eval_tol = 1e-5;
  c.eval_min_iter = 0;
  c.eval_max_iter = 100;
  c.eqt_steps = 2;
  c.eqt_eval_steps = 2;
  c.eqt_rev_window = 4;
  c.n_layers = family == "eqt" ? 1 : 2;
  c.validate();
  return c;
}

}  // namespace eqt::test
