// eqt/data/tokenizer.h — how text becomes token ids: bytes (vocabulary 256, the default) or a
// SentencePiece model (BPE or unigram) trained by `eqt tokenizer train`.
//
// A text run names its tokenizer in its task options — {"tokenizer": "bytes"} or
// {"tokenizer": FILE, "tokenizer_hash": "fnv1a64:..."} — so evaluation, generation and serving
// rebuild the very same one, and a file that was changed since (another hash) is refused.
// The SentencePiece models eqt trains keep text byte-exact: identity normalisation, no dummy
// prefix, no whitespace folding, byte fallback, so decode(encode(s)) == s for any UTF-8 s and
// bits per byte are measured on the file's own bytes.
// What it is not: a normaliser, or a tokenizer of its own making (SentencePiece trains and
// encodes); without libsentencepiece at build time only bytes are offered, and saying so.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace eqt::data {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual int64_t vocab() const = 0;
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  // The bytes token `id` stands for in the text (empty for control tokens).
  virtual std::string token_bytes(int64_t id) const = 0;
  std::string decode(const std::vector<int64_t>& ids) const;
  // {"tokenizer": ...} entries for a task's options (path and hash for SentencePiece).
  virtual nlohmann::json describe() const = 0;
};

std::shared_ptr<Tokenizer> bytes_tokenizer();

// Whether this eqt was built with libsentencepiece (its module is loaded, and a failure to
// load it reported, on first use).
bool sentencepiece_available();

// A SentencePiece model file; `expect_hash` non-empty: the file must have this hash (a run's
// tokenizer). Errors name the file and what is wrong (missing, not a model, changed).
std::shared_ptr<Tokenizer> load_sentencepiece(const std::string& path, const std::string& expect_hash = "");

// "fnv1a64:<16 hex digits>" of the bytes: tells files apart, not a cryptographic digest.
std::string content_hash(const std::string& bytes);

// The tokenizer a task's options name; `path_override` (non-empty) is where its file is now
// (the stored hash still has to match).
std::shared_ptr<Tokenizer> tokenizer_from_options(const nlohmann::json& task_options,
                                                  const std::string& path_override = "");

struct TokenizerTrainOptions {
  std::string type = "bpe";  // "bpe" | "unigram"
  int64_t vocab = 4096;      // including the 256 byte-fallback pieces
  int threads = 1;
};
// Trains on `text` (one sentence per line) and writes the model to `out` atomically; returns
// the trained tokenizer. std::invalid_argument for bad options, naming the value.
std::shared_ptr<Tokenizer> train_sentencepiece(const std::string& text, const TokenizerTrainOptions& o,
                                               const std::string& out);

}  // namespace eqt::data
