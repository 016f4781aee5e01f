// Deep supervision (issue 28): N optimizer steps per example with the loop state carried
// between them. Checked against what they must be: N = 1 is plain training bit for bit; no
// gradient reaches a carried state; rows step through 1..N in lockstep when nothing halts
// early (the mean supervision step of the batch is 1, 2, ..., N, 1, 2, ... by construction);
// a halting head starts at q_halt = -5 (w = 0, b = -5) and is trained; families without a
// loop state refuse N > 1 by name.
#include "eqt/models/family.h"
#include "eqt/train/evaluate.h"
#include "eqt/train/trainer.h"
#include "train/small_run.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace eqt;

namespace {

train::TrainOptions options(int64_t steps, int64_t supervision) {
  train::TrainOptions o;
  o.steps = steps;
  o.batch = 4;
  o.lr = 3e-3;
  o.warmup = 1;
  o.log_every = 1;
  o.supervision = supervision;
  return o;
}

std::shared_ptr<models::ModelImpl> small(const std::string& family, bool halt_head = false) {
  torch::manual_seed(3);
  auto c = test::small_config(family);
  c.trm.h_cycles = 2;
  c.trm.l_cycles = 2;
  c.halt.head = halt_head;
  return models::make_model(c);
}

std::vector<nlohmann::json> training_lines(const std::string& dir) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string l; std::getline(in, l);) {
    auto j = nlohmann::json::parse(l);
    if (j.contains("loss")) lines.push_back(j);
  }
  return lines;
}

TEST(DeepSupervision, OneStepIsPlainTrainingBitForBit) {
  for (const auto& family : models::state_families()) {
    auto task = test::small_parity();
    auto plain = options(4, 1);
    auto a = train::Trainer(small(family), task, plain, test::fresh_dir("ds_plain_" + family)).run();
    auto one = options(4, 1);
    one.halt_weight = 0.25;  // no halting head, N = 1: the halting options must change nothing
    one.halt_explore = 0.9;
    auto b = train::Trainer(small(family), task, one, test::fresh_dir("ds_one_" + family)).run();
    EXPECT_EQ(a.losses, b.losses) << family;
  }
}

TEST(DeepSupervision, NoGradientReachesTheCarriedState) {
  for (const auto& family : models::state_families()) {
    auto m = small(family);
    m->train();
    auto tokens = torch::randint(2, {2, 8}, torch::kLong);
    auto first = m->forward(tokens);
    auto carried = first.state.detach().clone().requires_grad_(true);
    models::ForwardOptions o;
    o.start.policy = models::StartState::Policy::Given;
    o.start.given = carried;
    auto out = m->forward(tokens, o);
    out.logits.sum().backward();
    EXPECT_FALSE(carried.grad().defined()) << family << ": a gradient crossed the supervision step";
    bool any = false;
    for (const auto& p : m->parameters()) any = any || (p.grad().defined() && p.grad().abs().sum().item<double>() > 0);
    EXPECT_TRUE(any) << family << ": no gradient reached the parameters either";
  }
}

TEST(DeepSupervision, RowsStepThroughTheirSupervisionStepsInLockstep) {
  auto task = test::small_parity();
  const std::string d = test::fresh_dir("ds_lockstep");
  train::Trainer(small("trm"), task, options(7, 3), d).run();
  auto lines = training_lines(d);
  ASSERT_EQ(lines.size(), 7u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const double want = double(i % 3 + 1), got = lines[i]["supervision_step_mean"].get<double>();
    EXPECT_EQ(got, want) << "step " << i + 1;
    EXPECT_EQ(lines[i]["halted"].get<double>(), i % 3 == 2 ? 1.0 : 0.0) << "step " << i + 1;
  }
}

// A run interrupted in the middle of its examples' supervision steps resumes with the same
// rows, states and step counts (checkpointed as "carry.*"): its losses equal the
// uninterrupted run's.
TEST(DeepSupervision, ResumesWithTheCarriedRows) {
  auto task = test::small_parity();
  auto o = options(7, 3);
  auto full = train::Trainer(small("trm", true), task, o, test::fresh_dir("ds_full")).run();
  const std::string d = test::fresh_dir("ds_split");
  auto first = train::Trainer(small("trm", true), task, o, d).run(4);  // mid-example: steps 2 of 3
  auto ck = train::load_checkpoint(d + "/checkpoint.eqt");
  EXPECT_FALSE(ck.carry.empty()) << "nothing carried in the checkpoint";
  auto model = models::make_model(ck.model->config());
  train::Trainer second(model, task, o, d);
  second.resume(ck);
  auto rest = second.run();
  ASSERT_EQ(first.losses.size() + rest.losses.size(), full.losses.size());
  for (size_t i = 0; i < full.losses.size(); ++i) {
    const double r = i < first.losses.size() ? first.losses[i] : rest.losses[i - first.losses.size()];
    EXPECT_EQ(r, full.losses[i]) << "step " << i + 1;
  }
}

TEST(DeepSupervision, HaltingHeadStartsClosedAndIsTrained) {
  {
    auto m = small("looped", /*halt_head=*/true);
    m->eval();
    torch::NoGradGuard ng;
    auto q = m->forward(torch::randint(2, {3, 8}, torch::kLong)).q_halt;  // (B,)
    ASSERT_TRUE(q.defined());
    EXPECT_TRUE(q.eq(-5.0).all().item<bool>()) << q;
  }
  auto task = test::small_parity();
  const std::string d = test::fresh_dir("ds_halt");
  auto trained = small("looped", true);
  train::Trainer(trained, task, options(6, 4), d).run();
  auto lines = training_lines(d);
  ASSERT_EQ(lines.size(), 6u);
  for (const auto& l : lines) EXPECT_TRUE(l.contains("halt_loss")) << l;
  auto bias = trained->named_parameters()["halt.bias"];
  EXPECT_NE(bias.item<double>(), -5.0) << "the halting head was not trained";
}

// Evaluation at depth D: a fixed rule runs D forwards, each from the last one's state (the
// same logits as three forwards chained by hand); a converged rule with a huge tolerance
// stops every row after one; an untrained halting head (q_halt = -5) never stops one.
TEST(DeepSupervision, EvaluationDepthAndHaltingRules) {
  auto task = test::small_parity();
  auto m = small("trm", /*halt_head=*/true);
  m->eval();
  train::SupervisionEval fixed;
  fixed.steps = 3;
  auto r = train::evaluate(*m, *task, 16, 1, {}, fixed);
  EXPECT_EQ(r["halt_steps_mean"].get<double>(), 3.0);
  {
    torch::NoGradGuard ng;
    auto tokens = task->eval_batches(16).front().tokens;
    auto out = m->forward(tokens);
    for (int k = 1; k < 3; ++k) {
      models::ForwardOptions o;
      o.start.policy = models::StartState::Policy::Given;
      o.start.given = out.state;
      out = m->forward(tokens, o);
    }
    const auto targets = task->eval_batches(16).front().targets;
    const double by_hand = (out.logits.argmax(-1) == targets).to(torch::kFloat64).mean().item<double>();
    EXPECT_DOUBLE_EQ(r["token_accuracy"].get<double>(), by_hand);
  }
  train::SupervisionEval converged = fixed;
  converged.halt = "converged";
  converged.tol = 1e9;
  EXPECT_EQ(train::evaluate(*m, *task, 16, 1, {}, converged)["halt_steps_mean"].get<double>(), 1.0);
  train::SupervisionEval learned = fixed;
  learned.halt = "learned";
  EXPECT_EQ(train::evaluate(*m, *task, 16, 1, {}, learned)["halt_steps_mean"].get<double>(), 3.0);
  auto plain = small("trm");
  plain->eval();
  EXPECT_THROW(train::evaluate(*plain, *task, 16, 1, {}, learned), std::invalid_argument);  // no head
  // A solver cap of 0 (the attractor's proposal, no loop): nothing to continue, one step.
  auto attractor = small("attractor");
  attractor->eval();
  models::ForwardOptions capped;
  capped.limits.max_steps = 0;
  EXPECT_EQ(train::evaluate(*attractor, *task, 16, 1, capped, fixed)["halt_steps_mean"].get<double>(), 1.0);
}

TEST(DeepSupervision, TheMlpMixerIsRefusedOnCausalTasks) {
  auto c = test::small_config("trm");
  c.trm.mixer = "mlp";
  c.max_seq = 8;
  c.block.causal = true;
  EXPECT_THROW(c.validate(), std::invalid_argument);
  c.block.causal = false;
  EXPECT_NO_THROW(c.validate());
}

TEST(DeepSupervision, FamiliesWithoutALoopStateRefuseIt) {
  auto task = test::small_parity();
  for (const std::string family : {"standard", "eqt"}) {
    try {
      train::Trainer(small(family), task, options(2, 4), test::fresh_dir("ds_refused"));
      ADD_FAILURE() << family << " accepted supervision 4";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("'" + family + "'"), std::string::npos) << e.what();
    }
  }
  auto c = test::small_config("standard");
  c.halt.head = true;
  EXPECT_THROW(c.validate(), std::invalid_argument);
}

}  // namespace

// EqR's training recipe (issue 29): random starts and path noise while training, with the
// carried rows of deep supervision. Reproducible from the seed (the same losses twice), and
// the noise reaches the loss (other losses than without it).
TEST(DeepSupervision, StartAndPathNoiseAreSeededAndChangeTraining) {
  for (const char* family : {"looped", "trm"}) {
    auto task = test::small_parity();
    auto plain = options(4, 2);
    auto noisy = plain;
    noisy.start_noise = 0.5;
    noisy.path_noise = 0.05;
    auto a = train::Trainer(small(family), task, noisy, test::fresh_dir(std::string("ds_noise_a_") + family)).run();
    auto b = train::Trainer(small(family), task, noisy, test::fresh_dir(std::string("ds_noise_b_") + family)).run();
    auto c = train::Trainer(small(family), task, plain, test::fresh_dir(std::string("ds_noise_c_") + family)).run();
    EXPECT_EQ(a.losses, b.losses) << family << ": the same seed must give the same noise";
    EXPECT_NE(a.losses, c.losses) << family << ": the noise changed nothing";
    std::printf("%s: last loss with noise %.5f, without %.5f\n", family, a.losses.back(), c.losses.back());
  }
  auto bad = options(2, 1);
  bad.path_noise = 0.1;
  EXPECT_THROW(train::Trainer(small("attractor"), test::small_parity(), bad, test::fresh_dir("ds_noise_bad")).run(),
               std::invalid_argument)
      << "the attractor's solve takes no path noise";
}
