// cli/inference_model.cpp — see inference_model.h.
#include "cli/inference_model.h"

#include "cli/validators.h"
#include <stdexcept>

namespace eqt::cli {

void RefinementArgs::add(CLI::App* cmd) {
  auto* tol = cmd->add_option("--tol", limits.tol,
                              "stop refining a token when its relative residual (deq, attractor) or relative "
                              "change (eqt) is below this (default: the checkpoint's)")
                  ->check(at_least(0));
  auto* max = cmd->add_option("--max-steps", limits.max_steps,
                              "cap on solver / refinement steps per token (default: the checkpoint's)")
                  ->check(at_least(0));
  auto* min = cmd->add_option("--min-steps", limits.min_steps,
                              "deq, attractor: solver steps before the tolerance may stop a token "
                              "(default: the checkpoint's)")
                  ->check(at_least(0));
  cmd->add_option("--exact-steps", limits.exact_steps,
                  "exactly this many steps per token, no early stop; 0 = the internalised proposal "
                  "(attractor), no refinement (eqt), f(0) (deq), one core pass (looped)")
      ->check(at_least(0))
      ->excludes(tol)
      ->excludes(max)
      ->excludes(min);
  // One name per meaning (issue 27): `eval --solver-steps` is a list of caps; here the exact
  // count was called that too until it became --exact-steps.
  cmd->add_option_function<std::string>(
         "--solver-steps",
         [](const std::string& v) {
           throw std::invalid_argument("--solver-steps " + v + " is eval's list of caps; here an exact step count "
                                       "per token is --exact-steps " + v);
         },
         "")
      ->group("");
}

void InferenceArgs::add(CLI::App* cmd) {
  auto* r = cmd->add_option("--run", run, "run folder written by eqt train (its checkpoint.eqt)");
  auto* c = cmd->add_option("--checkpoint", checkpoint, "a checkpoint file");
  r->excludes(c);
  cmd->add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_flag("--raw-weights", raw_weights, "use the trained weights, not their EMA");
  cmd->add_option("--tokenizer", tokenizer,
                  "text runs with a SentencePiece tokenizer: where its model file is now (default: where it was)");
  refine.add(cmd);
}

torch::Device parse_device(const std::string& name) {
  try {
    return train::parse_device(name);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--") + e.what());
  }
}

InferenceModel load_inference_model(const InferenceArgs& a) {
  parse_device(a.device);  // the flag's name in the error
  InferenceModel m;
  static_cast<train::InferenceModel&>(m) = train::open_inference_model(train::InferenceSource()
                                                                          .run(a.run)
                                                                          .checkpoint(a.checkpoint)
                                                                          .device(a.device)
                                                                          .ema(!a.raw_weights)
                                                                          .tokenizer(a.tokenizer));
  a.refine.limits.applied_to(m.model->config());  // refuses bad limits before any work
  m.limits = a.refine.limits;
  return m;
}

size_t utf8_complete_prefix(const std::string& s) {
  // Walk back over at most 3 continuation bytes to the last lead byte; if the sequence it
  // starts needs more bytes than are there, cut before it.
  size_t n = s.size(), i = n, back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i, ++back;
  if (i == 0) return n;
  const unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return need > back + 1 ? i - 1 : n;
}

}  // namespace eqt::cli
