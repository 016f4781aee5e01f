// eqt/data/text.cpp — see text.h.
#include "eqt/data/text.h"

#include "eqt/io/input_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace eqt::data {

void check_utf8(const std::string& s, const std::string& where) {
  int64_t line = 1, col = 1;
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = b[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (b[i + k] & 0xC0) == 0x80;
    if (ok && len == 2) ok = c >= 0xC2;                                   // no overlong 2-byte forms
    if (ok && len == 3) ok = !(c == 0xE0 && b[i + 1] < 0xA0) && !(c == 0xED && b[i + 1] >= 0xA0);  // overlong, surrogates
    if (ok && len == 4) ok = !(c == 0xF0 && b[i + 1] < 0x90) && !(c == 0xF4 && b[i + 1] >= 0x90) && c <= 0xF4;
    if (!ok) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      throw std::invalid_argument(where + ":" + std::to_string(line) + ":" + std::to_string(col) +
                                  ": not valid UTF-8 (byte " + hex + "); the text task needs a UTF-8 file");
    }
    if (c == '\n') {
      ++line;
      col = 0;
    }
    i += len;
    ++col;
  }
}

std::string default_corpus() {
  std::FILE* p = popen("bible gen1:1-rev22:21 2>/dev/null", "r");
  std::string out;
  if (p) {
    char buf[1 << 16];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
    const int rc = pclose(p);
    if (rc != 0) out.clear();
  }
  if (out.size() < 1000000)
    throw std::runtime_error(
        "text task: no --data FILE was given and the default corpus could not be read: `bible gen1:1-rev22:21` "
        "failed (install Debian's bible-kjv package, or pass --data FILE with any UTF-8 text)");
  return out;
}

namespace {

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::from_blob(const_cast<int64_t*>(ids.data()), {int64_t(ids.size())}, torch::kLong).clone();
}

}  // namespace

TextTask::TextTask(const TextOptions& o) : o_(o) {
  if (o.seq_len < 2) throw std::invalid_argument("text --seq-len " + std::to_string(o.seq_len) + " must be >= 2");
  if (!(o.val_fraction > 0 && o.val_fraction < 1))
    throw std::invalid_argument("text val_fraction " + std::to_string(o.val_fraction) + " must be in (0, 1)");
  if (o.val_windows < 0) throw std::invalid_argument("text val_windows must be >= 0");
  const std::string text = o.data.empty() ? default_corpus() : io::read_input_file(o.data, "text task: --data");
  check_utf8(text, o.data.empty() ? std::string("<bible-kjv>") : o.data);
  const size_t split = size_t(double(text.size()) * (1 - o.val_fraction));
  tok_ = o.tokenizer.empty() ? bytes_tokenizer() : load_sentencepiece(o.tokenizer, o.tokenizer_hash);
  train_ = ids_tensor(tok_->encode(text.substr(0, split)));
  val_ = ids_tensor(tok_->encode(text.substr(split)));
  bytes_per_token_ = double(text.size() - split) / double(std::max<int64_t>(val_.numel(), 1));
  const int64_t need = o.seq_len + 1;
  if (train_.numel() < need || val_.numel() < need)
    throw std::invalid_argument("text task: '" + o.data + "' has " + std::to_string(text.size()) + " bytes (" +
                                std::to_string(train_.numel()) + " + " + std::to_string(val_.numel()) +
                                " tokens); with seq_len " + std::to_string(o.seq_len) + " and val_fraction " +
                                std::to_string(o.val_fraction) + " each split needs at least " +
                                std::to_string(need) + " tokens");
}

// A window of T + 1 tokens gives T inputs and the T next tokens as targets.
Batch TextTask::train_batch(int64_t batch_size, at::Generator& gen) {
  const int64_t T = o_.seq_len;
  auto start = torch::randint(train_.numel() - T, {batch_size, 1}, gen, torch::kLong);  // (B, 1)
  auto idx = start + torch::arange(T + 1, torch::kLong).unsqueeze(0);                     // (B, T + 1)
  auto w = train_.index({idx});                                                          // (B, T + 1)
  return {w.narrow(1, 0, T), w.narrow(1, 1, T), {}};
}

std::vector<Batch> TextTask::eval_batches(int64_t batch_size) const {
  const int64_t T = o_.seq_len;
  int64_t n = (val_.numel() - 1) / T;  // windows of T inputs with T targets, sharing edge tokens
  int64_t stride = 1;
  if (o_.val_windows > 0 && n > o_.val_windows) {
    stride = n / o_.val_windows;
    n = o_.val_windows;
  }
  auto start = torch::arange(n, torch::kLong).mul(stride * T).unsqueeze(1);  // (N, 1)
  auto w = val_.index({start + torch::arange(T + 1, torch::kLong).unsqueeze(0)});  // (N, T + 1)
  std::vector<Batch> out;
  for (int64_t s = 0; s < n; s += batch_size) {
    auto part = w.narrow(0, s, std::min(batch_size, n - s));
    out.push_back({part.narrow(1, 0, T), part.narrow(1, 1, T), {}});
  }
  return out;
}

nlohmann::json TextTask::options() const {
  nlohmann::json o = {
      {"data", o_.data}, {"seq_len", o_.seq_len}, {"val_fraction", o_.val_fraction}, {"val_windows", o_.val_windows}};
  o.update(tok_->describe());  // {"tokenizer": "bytes"} or its file and content hash
  return o;
}

}  // namespace eqt::data
