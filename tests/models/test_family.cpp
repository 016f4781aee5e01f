// The family table: names are unique and looked up with an error naming the choices, and
// every row's traits agree with what its model actually does in a forward pass.
#include "models/tiny.h"

#include <gtest/gtest.h>

#include <set>

using namespace eqt;

namespace {

TEST(FamilyTable, NamesAreUniqueAndLookedUp) {
  std::set<std::string> seen;
  for (const auto& f : models::family_table()) {
    EXPECT_TRUE(seen.insert(f.name).second) << "duplicate family " << f.name;
    EXPECT_EQ(&models::find_family(f.name), &f);
  }
  try {
    models::find_family("rnn");
    FAIL() << "unknown family accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'rnn'"), std::string::npos) << what;
    for (const auto& f : models::family_table()) EXPECT_NE(what.find(f.name), std::string::npos) << what;
  }
}

// The presets by hand: DEQs train with the exact implicit gradient (REFERENCE 4); trm's
// fixed-point variant solves with Anderson for 4-8 iterations at tolerance 1e-3 and trains
// with two undamped re-applications (the Attractor paper's puzzle model); every other
// family keeps the config's defaults. Nothing else differs.
TEST(FamilyTable, PresetsAreTheRowsValues) {
  const auto defaults = models::ModelConfig().to_json();
  for (const auto& f : models::family_table()) {
    auto want = defaults;
    want["family"] = f.name;
    const std::string name = f.name;
    if (name == "deq") want["grad"]["mode"] = "ift";
    if (name == "trm") {
      want["grad"]["mode"] = "phantom";
      want["grad"]["k"] = 2;
      want["grad"]["tau"] = 1.0;
      for (const char* phase : {"train", "eval"}) {
        want["solver"][std::string(phase) + "_tol"] = 1e-3;
        want["solver"][std::string(phase) + "_max_iter"] = 8;
        want["solver"][std::string(phase) + "_min_iter"] = 4;
      }
    }
    EXPECT_EQ(models::ModelConfig::preset(f.name).to_json(), want) << f.name;
  }
}

TEST(FamilyTable, TraitsMatchTheModels) {
  for (const auto& f : models::family_table()) {
    torch::manual_seed(0);
    auto model = models::make_model(test::tiny(f.name));
    EXPECT_EQ(model->config().family, f.name);
    model->eval();
    torch::NoGradGuard ng;
    auto out = model->forward(torch::randint(16, {2, 6}, torch::kLong));
    EXPECT_EQ(out.stats.steps.defined(), f.has_loop) << f.name << ": steps vs has_loop";
    EXPECT_EQ(out.stats.residual_trace.defined(), f.has_solver) << f.name << ": residual trace vs has_solver";
    EXPECT_EQ(out.stats.energy_trace.defined(), f.has_energy) << f.name << ": energy trace vs has_energy";
  }
}

}  // namespace
