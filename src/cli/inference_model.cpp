// cli/inference_model.cpp — see inference_model.h.
#include "cli/inference_model.h"

#include "cli/validators.h"
#include "eqt/train/run_folder.h"

#include <filesystem>
#include <sstream>
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
  std::unique_ptr<torch::Device> d;
  try {
    d = std::make_unique<torch::Device>(name);
  } catch (const c10::Error&) {
    throw std::invalid_argument("--device '" + name + "' is invalid; expected cpu, cuda or cuda:N");
  }
  if (d->is_cuda() && (!torch::cuda::is_available() || d->index() >= int(torch::cuda::device_count())))
    throw std::invalid_argument("--device '" + name + "' is not available: LibTorch sees " +
                                std::to_string(torch::cuda::device_count()) + " CUDA devices");
  if (!d->is_cpu() && !d->is_cuda()) throw std::invalid_argument("--device '" + name + "': expected cpu or cuda");
  return *d;
}

InferenceModel load_inference_model(const InferenceArgs& a) {
  if (a.run.empty() == a.checkpoint.empty())
    throw std::invalid_argument("give the model as --run DIR or --checkpoint FILE");
  InferenceModel m;
  m.source = a.checkpoint.empty() ? a.run + "/checkpoint.eqt" : a.checkpoint;
  if (!std::filesystem::exists(m.source)) throw std::invalid_argument("no checkpoint at '" + m.source + "'");
  const auto dev = parse_device(a.device);
  auto ck = train::load_for_eval(m.source, !a.raw_weights);
  m.model = ck.model;
  m.task = ck.meta.at("task").value("name", std::string("?"));
  if (m.task == "text") m.tokenizer = data::tokenizer_from_options(ck.meta.at("task"), a.tokenizer);
  else if (!a.tokenizer.empty())
    throw std::invalid_argument("--tokenizer '" + a.tokenizer + "': this " + m.task + " model reads token ids, not text");
  a.refine.limits.applied_to(m.model->config());  // refuses bad limits before any work
  m.limits = a.refine.limits;
  m.model->to(dev);
  m.model->eval();
  return m;
}

std::vector<int64_t> InferenceModel::encode(const std::string& prompt) const {
  std::vector<int64_t> ids;
  if (tokenizer) return tokenizer->encode(prompt);
  std::istringstream in(prompt);
  std::string word;
  const int64_t V = model->config().vocab;
  while (in >> word) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || v < 0 || v >= V)
      throw std::invalid_argument("prompt word '" + word + "' is not a token id in [0, " + std::to_string(V) +
                                  ") (this " + task + " model reads whitespace-separated ids)");
    ids.push_back(v);
  }
  return ids;
}

std::string InferenceModel::decode(int64_t token) const {
  return tokenizer ? tokenizer->token_bytes(token) : std::to_string(token) + " ";
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
