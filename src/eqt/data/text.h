// eqt/data/text.h — language modelling on a UTF-8 text (REFERENCE 3, 8).
//
// Tokens are the file's bytes (vocabulary 256) or a SentencePiece tokenizer's pieces
// (data/tokenizer.h). The last `val_fraction` of the file's bytes is the held-out split, cut
// before tokenizing so both tokenizations hold out the same text; it is evaluated as
// non-overlapping windows of seq_len + 1 tokens (at most val_windows of them, evenly spaced,
// so evaluation cost is bounded); training windows start at uniformly drawn offsets of the
// first part. Bits per byte = mean loss per token / ln 2 / (bytes per token of the held-out
// split): 1 byte per token for bytes, so byte and subword runs compare. Without a file the
// corpus is the King James Bible printed by Debian's `bible` program (bible-kjv).
// What it is not: a tokenizer (tokenizer.h is).
#pragma once

#include "eqt/data/task.h"
#include "eqt/data/tokenizer.h"

namespace eqt::data {

struct TextOptions {
  std::string data;           // a UTF-8 file; "" = the default corpus (KJV via `bible`)
  int64_t seq_len = 128;      // bytes per training window
  double val_fraction = 0.05;  // tail of the file held out for validation
  int64_t val_windows = 256;  // cap on validation windows (0 = all)
  std::string tokenizer;       // a SentencePiece model file; "" = bytes
  std::string tokenizer_hash;  // non-empty: the file must have this content hash (a run's own)
};

// Checks that bytes are valid UTF-8; throws naming `where` and the 1-based line and column.
void check_utf8(const std::string& bytes, const std::string& where);

// The default corpus, or a clear error if the bible-kjv package is missing.
std::string default_corpus();

class TextTask final : public Task {
 public:
  explicit TextTask(const TextOptions& o);
  std::string name() const override { return "text"; }
  int64_t vocab() const override { return tok_->vocab(); }
  int64_t seq_len() const override { return o_.seq_len; }
  bool causal() const override { return true; }
  Batch train_batch(int64_t batch_size, at::Generator& gen) override;
  std::vector<Batch> eval_batches(int64_t batch_size) const override;
  std::string breakdown_by() const override { return ""; }
  nlohmann::json options() const override;
  double bytes_per_token() const override { return bytes_per_token_; }
  int64_t train_tokens() const { return train_.numel(); }
  int64_t val_tokens() const { return val_.numel(); }

 private:
  TextOptions o_;
  std::shared_ptr<Tokenizer> tok_;
  torch::Tensor train_, val_;  // (N,) int64 token ids
  double bytes_per_token_ = 1;  // of the held-out split
};

}  // namespace eqt::data
