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
  looped.mlp = "swiglu";
  looped.norm = "layer";
  looped.positions = "sinusoidal";
  looped.qk_norm = false;
  looped.inject = "add";
  check_against_python(looped, "looped_variant");
  auto gelu = test::tiny("attractor");  // the Attractor reference code's default feed-forward
  gelu.mlp = "gelu";
  check_against_python(gelu, "attractor_gelu");
  auto attractor = test::tiny("attractor");
  attractor.grad = "ift";
  attractor.backward_tol = 1e-7;
  attractor.backward_max_iter = 200;
  check_against_python(attractor, "attractor_ift");
  auto deq = test::tiny("deq");
  deq.grad = "ift";
  deq.backward_tol = 1e-7;
  deq.backward_max_iter = 200;
  deq.causal = false;
  check_against_python(deq, "deq_ift_bidirectional");
  auto eqt_block = test::tiny("eqt");  // the legacy reverse predictor (checkpoints before eqt.reverse)
  eqt_block.eqt_reverse = "block";
  check_against_python(eqt_block, "eqt_reverse_block");
}

}  // namespace
