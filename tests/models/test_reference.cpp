// Every family against the independent Python implementation (tests/reference/eqt_ref.py):
// same weights and tokens; logits, loss and every parameter gradient within 1e-4 (float32).
#include "eqt/io/tensor_file.h"
#include "models/tiny.h"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace eqt;

namespace {

class Reference : public ::testing::TestWithParam<std::string> {};

void check_against_python(models::ModelConfig cfg, const std::string& tag) {
  torch::manual_seed(1);
  auto model = models::make_model(cfg);
  model->train();
  auto tokens = torch::randint(cfg.vocab, {2, 8}, torch::kLong);
  auto targets = torch::randint(cfg.vocab, {2, 8}, torch::kLong);
  // The buffers as the forward saw them (EqT's memory bank moves after a training forward).
  std::vector<std::pair<std::string, torch::Tensor>> buffers;
  for (const auto& b : model->named_buffers()) buffers.emplace_back("buffer." + b.key(), b.value().clone());
  auto out = model->forward(tokens);
  auto loss = torch::cross_entropy_loss(out.logits.reshape({-1, cfg.vocab}), targets.reshape({-1}));
  if (out.aux_loss.defined()) loss = loss + out.aux_loss;
  loss.backward();
  if (out.stats.steps.defined())
    std::printf("  %s: mean refinement steps %.2f\n", tag.c_str(), out.stats.steps.mean().item<double>());

  io::TensorFile file;
  file.meta = {{"config", cfg.to_json()}};
  for (const auto& p : model->named_parameters()) {
    file.tensors.emplace_back("param." + p.key(), p.value().detach());
    ASSERT_TRUE(p.value().grad().defined()) << "no gradient reached " << p.key();
    file.tensors.emplace_back("grad." + p.key(), p.value().grad());
  }
  for (const auto& b : buffers) file.tensors.push_back(b);
  file.tensors.emplace_back("tokens", tokens);
  file.tensors.emplace_back("targets", targets);
  file.tensors.emplace_back("logits", out.logits.detach());
  file.tensors.emplace_back("loss", loss.detach());
  const std::string path = ::testing::TempDir() + "eqt_reference_" + tag + ".eqtf";
  io::save_tensor_file(path, file);
  const std::string cmd = std::string("/usr/bin/python3 ") + EQT_TEST_SOURCE_DIR + "/reference/check_family.py " + path;
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << tag << ": C++ and the Python reference disagree (see the errors above)";
}

TEST_P(Reference, LogitsLossAndGradientsMatchPython) { check_against_python(test::tiny(GetParam()), GetParam()); }

INSTANTIATE_TEST_SUITE_P(AllFamilies, Reference, ::testing::ValuesIn(test::families()));

TEST(ReferenceVariants, OtherBlockOptions) {
  // SwiGLU, GELU, LayerNorm, sinusoidal positions, no QK-norm, additive injection, IFT gradients.
  auto looped = test::tiny("looped");
  looped.block.mlp = "swiglu";
  looped.block.norm = "layer";
  looped.block.positions = "sinusoidal";
  looped.block.qk_norm = false;
  looped.looped.inject = "add";
  check_against_python(looped, "looped_variant");
  auto gelu = test::tiny("attractor");  // the Attractor reference code's default feed-forward
  gelu.block.mlp = "gelu";
  check_against_python(gelu, "attractor_gelu");
  auto attractor = test::tiny("attractor");
  attractor.grad.mode = "ift";
  attractor.grad.backward_tol = 1e-7;
  attractor.grad.backward_max_iter = 200;
  check_against_python(attractor, "attractor_ift");
  auto deq = test::tiny("deq");
  deq.grad.mode = "ift";
  deq.grad.backward_tol = 1e-7;
  deq.grad.backward_max_iter = 200;
  deq.block.causal = false;
  check_against_python(deq, "deq_ift_bidirectional");
  auto memory = test::tiny("eqt");  // the episodic memory term on (issue 29)
  memory.eqt.memory = true;
  memory.eqt.lambda_mem = 0.5;
  memory.eqt.mem_slots = 6;
  check_against_python(memory, "eqt_memory");
  auto trm_mlp = test::tiny("trm");  // TRM's Sudoku block: an MLP across the 8 positions
  trm_mlp.trm.mixer = "mlp";
  trm_mlp.max_seq = 8;
  trm_mlp.block.mlp = "swiglu";
  trm_mlp.block.causal = false;  // an MLP across positions sees every position: puzzles, not next tokens
  check_against_python(trm_mlp, "trm_mlp_mixer");
  auto trm_solve = test::tiny("trm");  // the fixed-point variant, phantom gradient k = 2
  trm_solve.trm.inner = "solve";
  trm_solve.solver.train_tol = 1e-6;
  trm_solve.solver.train_min_iter = 0;
  trm_solve.solver.train_max_iter = 200;
  check_against_python(trm_solve, "trm_fixed_point");
  auto eqt_block = test::tiny("eqt");  // the legacy reverse predictor (checkpoints before eqt.reverse)
  eqt_block.eqt.reverse = "block";
  check_against_python(eqt_block, "eqt_reverse_block");
}

}  // namespace
