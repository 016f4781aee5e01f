// tests/train/test_weights.cpp — load_named_tensors (what `eqt train --init-from` and
// `eqt import` run): the copy is exact, the given tensors (an EMA, a file's) are what the
// model ends up holding, and a model of another shape or family is refused with the tensor named.
#include "eqt/models/family.h"
#include "eqt/train/weights.h"
#include "small_run.h"

#include <gtest/gtest.h>

namespace eqt::test {
namespace {

double max_diff(models::ModelImpl& a, models::ModelImpl& b) {
  double worst = 0;
  auto pa = a.named_parameters(), pb = b.named_parameters();
  for (const auto& p : pa) worst = std::max(worst, (p.value() - pb[p.key()]).abs().max().item<double>());
  return worst;
}

TEST(CopyWeights, CopiesEveryParameterByName) {
  for (const std::string& family : models::family_names()) {
    torch::manual_seed(1);
    auto from = models::make_model(small_config(family));
    torch::manual_seed(2);
    auto to = models::make_model(small_config(family));
    ASSERT_GT(max_diff(*from, *to), 1e-3) << family << ": two seeds should differ";
    train::load_named_tensors(*to, train::named_tensors(*from), "test");
    const double err = max_diff(*from, *to);
    std::printf("%s: max |from - to| after the copy %.3g\n", family.c_str(), err);
    EXPECT_EQ(err, 0.0) << family;
  }
}

TEST(CopyWeights, ExplicitValuesReplaceTheParameters) {
  auto from = models::make_model(small_config("attractor"));
  auto to = models::make_model(small_config("attractor"));
  std::map<std::string, torch::Tensor> values;
  for (const auto& p : from->named_parameters()) values[p.key()] = torch::full_like(p.value(), 0.25);
  train::load_named_tensors(*to, values, "test");
  for (const auto& p : to->parameters()) EXPECT_TRUE(torch::all(p == 0.25).item<bool>());
}

TEST(CopyWeights, AnotherArchitectureIsRefusedByName) {
  auto from = models::make_model(small_config("attractor"));
  auto wider_cfg = small_config("attractor");
  wider_cfg.block.d_model = 32;
  auto wider = models::make_model(wider_cfg);
  try {
    train::load_named_tensors(*wider, train::named_tensors(*from), "run 'x'");
    FAIL() << "a wider model was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    std::printf("wider: %s\n", m.c_str());
    EXPECT_NE(m.find("embed.table"), std::string::npos) << m;
    EXPECT_NE(m.find("(2, 32)"), std::string::npos) << m;
    EXPECT_NE(m.find("(2, 16)"), std::string::npos) << m;
  }
  auto other = models::make_model(small_config("standard"));
  try {
    train::load_named_tensors(*other, train::named_tensors(*from), "run 'x'");
    FAIL() << "another family was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    std::printf("family: %s\n", m.c_str());
    EXPECT_NE(m.find("run 'x'"), std::string::npos) << m;
    EXPECT_NE(m.find("architecture"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace eqt::test
