// cli/generate_command.cpp — `eqt generate`: stream a continuation of a prompt to stdout.
// With --stats, stderr gets one line per token (solver steps, final residual, ms) and a
// summary (prefill time, decode tokens/s, mean steps), so stdout stays the text alone.
// With --logits FILE, a safetensors file of what produced each token: "logits" (N, V)
// float32, "tokens" (N,) int64, "steps" and "residual" (N,) float64 (what the Python
// module's tests compare its own generation with, exactly).
#include "cli/commands.h"
#include "cli/inference_model.h"

#include "eqt/infer/generator.h"
#include "eqt/io/safetensors.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <memory>

namespace eqt::cli {
namespace {

struct GenerateArgs {
  InferenceArgs model;
  std::string prompt;
  int64_t max_new_tokens = 128;
  double temperature = 1.0, top_p = 1.0;
  int64_t top_k = 0;
  uint64_t seed = 0;
  bool stats = false, recompute = false;
  std::string logits;  // --logits FILE
};

std::string printable(const std::string& piece) {
  std::string s;
  for (unsigned char ch : piece) {
    if (ch == '\n') s += "\\n";
    else if (ch < 0x20 || ch >= 0x7f) s += fmt::format("\\x{:02x}", ch);
    else s += char(ch);
  }
  return s;
}

void run_generate(const GenerateArgs& a) {
  auto m = load_inference_model(a.model);
  auto prompt = m.encode(a.prompt);
  auto o = infer::GenerateOptions().max_new_tokens(a.max_new_tokens).cached(!a.recompute).limits(m.limits);
  o.sampling().temperature(a.temperature).top_k(a.top_k).top_p(a.top_p).seed(a.seed);
  infer::validate(o.sampling());
  if (a.stats)
    std::fprintf(stderr, "eqt generate: %s (%s, %lld parameters), prompt %zu tokens, %s decoding\n",
                 m.model->config().family.c_str(), m.source.c_str(), (long long)m.model->param_total(), prompt.size(),
                 a.recompute ? "recompute" : "cached");
  std::vector<torch::Tensor> logits;
  auto res = infer::generate(*m.model, prompt, o, [&](const infer::TokenEvent& e) {
    if (!a.logits.empty()) logits.push_back(e.logits);
    const std::string piece = m.decode(e.token);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    if (a.stats)
      std::fprintf(stderr, "  token %4lld %-8s steps %5.1f  residual %s  %7.2f ms%s\n", (long long)e.index,
                   ("'" + printable(piece) + "'").c_str(), e.steps,
                   std::isnan(e.residual) ? "    -    " : fmt::format("{:9.2e}", e.residual).c_str(), e.ms,
                   e.index == 0 ? "  (prompt)" : "");
    return true;
  });
  if (!m.tokenizer || res.tokens.empty() || m.decode(res.tokens.back()) != "\n") std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!a.logits.empty()) {
    io::SafeTensors f;
    f.metadata["eqt.source"] = m.source;
    f.metadata["eqt.prompt_tokens"] = std::to_string(prompt.size());
    const int64_t V = m.model->config().vocab;
    f.tensors = {{"logits", logits.empty() ? torch::zeros({0, V}) : torch::stack(logits)},  // (N, V)
                 {"tokens", torch::tensor(res.tokens, torch::kLong)},
                 {"steps", torch::tensor(res.steps, torch::kDouble)},
                 {"residual", torch::tensor(res.residual, torch::kDouble)}};
    io::save_safetensors(a.logits, f);
  }
  if (a.stats)
    std::fprintf(stderr,
                 "eqt generate: %zu tokens; prefill %lld tokens in %.1f ms; decode %.1f tokens/s, mean steps %.2f per "
                 "token; stop: %s\n",
                 res.tokens.size(), (long long)res.prompt_tokens, res.prefill_ms, res.decode_tokens_per_s(),
                 res.mean_decode_steps(), res.stop.c_str());
}

}  // namespace

void register_generate(CLI::App& app, int& /*exit_code*/) {
  auto a = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Continue a prompt with a trained model, streaming tokens to stdout");
  a->model.add(cmd);
  cmd->add_option("--prompt", a->prompt, "text (byte-level text models) or whitespace-separated token ids")->required();
  cmd->add_option("--max-new-tokens", a->max_new_tokens, "tokens to generate (fewer if the context fills)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", a->temperature, "sampling temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", a->top_k, "sample among the k most likely tokens (0 = all)")->capture_default_str();
  cmd->add_option("--top-p", a->top_p, "sample among the most likely tokens of mass p (1 = all)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "sampling seed")->capture_default_str();
  cmd->add_flag("--stats", a->stats, "per-token solver steps, residual and time, and a summary, on stderr");
  cmd->add_option("--logits", a->logits,
                  "write each generated token's logits (and token, steps, residual) to this .safetensors file");
  cmd->add_flag("--recompute", a->recompute, "recompute the whole sequence per token (no cache; for comparison)");
  cmd->callback([a] { run_generate(*a); });
}

}  // namespace eqt::cli
