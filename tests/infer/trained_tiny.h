// tests/infer/trained_tiny.h — tiny models of every family trained for a few steps on a
// cyclic sequence, so that decoding tests see logits that are not those of a random net.
#pragma once

#include "models/tiny.h"

namespace eqt::test {

// Tokens of the cycle x_{t+1} = (5 x_t + 3) mod 16 from random starts: (B, T).
inline torch::Tensor cycle_batch(int64_t B, int64_t T) {
  auto x = torch::randint(0, 16, {B, 1}, torch::kInt64);
  std::vector<torch::Tensor> cols = {x};
  for (int64_t t = 1; t < T; ++t) cols.push_back((cols.back() * 5 + 3) % 16);
  return torch::cat(cols, 1);
}

// positions: rope or sinusoidal. 25 AdamW steps, then eval mode with tight inference settings: cached and recompute solve
// different systems (one position versus all of them), which agree to within the solver
// tolerance, not bit for bit; EqT refines a fixed K (halting per token versus per sequence
// would differ).
inline std::shared_ptr<models::ModelImpl> trained_tiny(const std::string& family,
                                                      const std::string& positions = "rope") {
  torch::manual_seed(7);
  auto cfg = tiny(family);
  cfg.block.positions = positions;
  cfg.max_seq = 128;
  cfg.solver.train_max_iter = 30;
  auto model = models::make_model(cfg);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(3e-3));
  model->train();
  for (int step = 0; step < 25; ++step) {
    auto batch = cycle_batch(8, 24);
    auto out = model->forward(batch.narrow(1, 0, 23));
    auto loss = torch::nn::functional::cross_entropy(out.logits.reshape({-1, cfg.vocab}),
                                                     batch.narrow(1, 1, 23).reshape({-1}));
    if (out.aux_loss.defined()) loss = loss + out.aux_loss;
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  model->eval();
  auto& c = model->config();
  c.solver.eval_tol = 1e-6;
  c.solver.eval_min_iter = 0;
  c.solver.eval_max_iter = 300;
  c.eqt.halt_eps = 0;
  return model;
}

}  // namespace eqt::test
