// eqt/data/tokenizer.cpp — see tokenizer.h.
#include "eqt/data/tokenizer.h"

#include "eqt/io/atomic_write.h"
#include "eqt/io/input_file.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <dlfcn.h>

namespace eqt::data {

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string s;
  for (auto id : ids) s += token_bytes(id);
  return s;
}

namespace {

class BytesTokenizer final : public Tokenizer {
 public:
  int64_t vocab() const override { return 256; }
  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int64_t> ids(text.size());
    for (size_t i = 0; i < text.size(); ++i) ids[i] = int64_t(static_cast<unsigned char>(text[i]));
    return ids;
  }
  std::string token_bytes(int64_t id) const override {
    if (id < 0 || id > 255) throw std::out_of_range("byte token " + std::to_string(id) + " is outside 0..255");
    return std::string(1, char(id));
  }
  nlohmann::json describe() const override { return {{"tokenizer", "bytes"}}; }
};

// SentencePiece lives in its own module (sentencepiece_module.cpp says why), loaded on first
// use; its functions, or the reason it cannot be used.
struct SpmModule {
  using Load = int (*)(const char*, size_t, void**, char**);
  using Close = void (*)(void*);
  using Size = int (*)(void*);
  using Piece = void (*)(void*, int, const char**, size_t*, int*);
  using Encode = int (*)(void*, const char*, size_t, int**, size_t*, char**);
  using Train = int (*)(const char*, size_t, const char*, char**, size_t*, char**);
  using Free = void (*)(void*);
  Load load = nullptr;
  Close close = nullptr;
  Size size = nullptr;
  Piece piece = nullptr;
  Encode encode = nullptr;
  Train train = nullptr;
  Free free = nullptr;
  std::string error;  // non-empty: not usable, and why

  static const SpmModule& get() {
    static const SpmModule m = open();
    return m;
  }
  // EQT_SENTENCEPIECE_MODULE (environment) overrides where the build put the module; "":
  // built without SentencePiece.
  static std::string module_path() {
    if (const char* env = std::getenv("EQT_SENTENCEPIECE_MODULE")) return env;
#ifdef EQT_SENTENCEPIECE_MODULE_PATH
    return EQT_SENTENCEPIECE_MODULE_PATH;
#else
    return "";
#endif
  }
  const SpmModule& required(const std::string& what) const {
    if (!error.empty()) throw std::invalid_argument(what + ": " + error);
    return *this;
  }
  std::string take_error(char* err) const {
    std::string e = err ? err : "unknown error";
    if (err) std::free(err);
    return e;
  }

 private:
  static SpmModule open() {
    SpmModule m;
    const std::string path = module_path();
    if (path.empty()) {
      m.error = "this eqt was built without SentencePiece (install libsentencepiece-dev and rebuild); only "
                "byte-level text is available";
      return m;
    }
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!h) {
      const char* e = dlerror();
      m.error = "cannot load eqt's SentencePiece module " + path + " (" + (e ? e : "?") +
                "); rebuild eqt, or set EQT_SENTENCEPIECE_MODULE";
      return m;
    }
    auto sym = [&](const char* name) {
      void* f = dlsym(h, name);
      if (!f && m.error.empty()) m.error = "SentencePiece module " + path + " lacks " + name + "; rebuild eqt";
      return f;
    };
    m.load = reinterpret_cast<Load>(sym("eqt_spm_load"));
    m.close = reinterpret_cast<Close>(sym("eqt_spm_close"));
    m.size = reinterpret_cast<Size>(sym("eqt_spm_size"));
    m.piece = reinterpret_cast<Piece>(sym("eqt_spm_piece"));
    m.encode = reinterpret_cast<Encode>(sym("eqt_spm_encode"));
    m.train = reinterpret_cast<Train>(sym("eqt_spm_train"));
    m.free = reinterpret_cast<Free>(sym("eqt_spm_free"));
    return m;
  }
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // hash: content_hash(proto), which the caller has computed already.
  SentencePieceTokenizer(const std::string& proto, const std::string& path, const std::string& hash)
      : m_(SpmModule::get().required("tokenizer '" + path + "'")), path_(path), hash_(hash) {
    char* err = nullptr;
    if (m_.load(proto.data(), proto.size(), &handle_, &err) != 0)
      throw std::runtime_error("tokenizer '" + path + "': not a SentencePiece model (" + m_.take_error(err) + ")");
    // Byte-exact text needs every byte encodable and nothing rewritten: eqt's own models
    // are trained so; a model from elsewhere without byte pieces is refused.
    const int n = m_.size(handle_);
    pieces_.resize(size_t(n));
    bool bytes_ok = false;
    for (int i = 0; i < n; ++i) {
      const char* p = nullptr;
      size_t len = 0;
      int kind = 0;
      m_.piece(handle_, i, &p, &len, &kind);
      const std::string piece(p, len);
      if (kind == 1) {  // "<0xNN>"
        bytes_ok = true;
        pieces_[size_t(i)] = std::string(1, char(std::stoi(piece.substr(3, 2), nullptr, 16)));
      } else if (kind == 0) {
        std::string out;
        for (size_t k = 0; k < piece.size();) {  // U+2581 (the piece's space marker) -> ' '
          if (piece.compare(k, 3, "\xE2\x96\x81") == 0) {
            out += ' ';
            k += 3;
          } else {
            out += piece[k++];
          }
        }
        pieces_[size_t(i)] = out;
      }
    }
    if (!bytes_ok) {
      m_.close(handle_);
      throw std::runtime_error("tokenizer '" + path + "' has no byte-fallback pieces, so some text cannot be encoded " +
                               "byte-exactly; train one with `eqt tokenizer train`");
    }
  }
  ~SentencePieceTokenizer() override { m_.close(handle_); }
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;
  int64_t vocab() const override { return int64_t(pieces_.size()); }
  std::vector<int64_t> encode(const std::string& text) const override {
    int* ids = nullptr;
    size_t n = 0;
    char* err = nullptr;
    if (m_.encode(handle_, text.data(), text.size(), &ids, &n, &err) != 0)
      throw std::runtime_error("tokenizer '" + path_ + "': " + m_.take_error(err));
    std::vector<int64_t> out(ids, ids + n);
    m_.free(ids);
    return out;
  }
  std::string token_bytes(int64_t id) const override {
    if (id < 0 || id >= int64_t(pieces_.size()))
      throw std::out_of_range("token " + std::to_string(id) + " is outside the tokenizer's 0.." +
                              std::to_string(pieces_.size() - 1));
    return pieces_[size_t(id)];
  }
  nlohmann::json describe() const override { return {{"tokenizer", path_}, {"tokenizer_hash", hash_}}; }

 private:
  const SpmModule& m_;
  void* handle_ = nullptr;
  std::string path_, hash_;
  std::vector<std::string> pieces_;  // per id: the bytes it stands for
};

}  // namespace

std::shared_ptr<Tokenizer> bytes_tokenizer() { return std::make_shared<BytesTokenizer>(); }

bool sentencepiece_available() { return !SpmModule::module_path().empty(); }

std::string content_hash(const std::string& bytes) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a, 64 bit
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
  return std::string("fnv1a64:") + hex;
}

std::shared_ptr<Tokenizer> load_sentencepiece(const std::string& path, const std::string& expect_hash) {
  SpmModule::get().required("tokenizer '" + path + "'");
  const std::string proto = io::read_input_file(path, "tokenizer");
  const std::string hash = content_hash(proto);
  if (!expect_hash.empty() && hash != expect_hash)
    throw std::runtime_error("tokenizer '" + path + "' has changed since the run was trained (hash " + hash +
                             ", the run's " + expect_hash + "); pass the run's own tokenizer file with --tokenizer");
  return std::make_shared<SentencePieceTokenizer>(proto, path, hash);
}

std::shared_ptr<Tokenizer> tokenizer_from_options(const nlohmann::json& o, const std::string& path_override) {
  const std::string name = o.value("tokenizer", std::string("bytes"));
  if (name == "bytes") {
    if (!path_override.empty())
      throw std::invalid_argument("--tokenizer '" + path_override + "': this run reads bytes, not a tokenizer's tokens");
    return bytes_tokenizer();
  }
  return load_sentencepiece(path_override.empty() ? name : path_override, o.value("tokenizer_hash", std::string()));
}

std::shared_ptr<Tokenizer> train_sentencepiece(const std::string& text, const TokenizerTrainOptions& o,
                                               const std::string& out) {
  if (o.type != "bpe" && o.type != "unigram")
    throw std::invalid_argument("tokenizer type '" + o.type + "': expected bpe or unigram");
  if (o.vocab < 300 || o.vocab > 1000000)
    throw std::invalid_argument("tokenizer vocabulary " + std::to_string(o.vocab) +
                                ": expected 300 .. 1000000 (256 of it are the byte-fallback pieces)");
  const auto& m = SpmModule::get().required("eqt tokenizer train");
  // Byte-exact: no normalisation, no dummy prefix, spaces kept as they are, every byte
  // encodable (byte_fallback); no BOS/EOS/PAD: the text task has no sentence markers.
  const std::string args = "model_type=" + o.type + "\nvocab_size=" + std::to_string(o.vocab) +
                           "\nnormalization_rule_name=identity\nadd_dummy_prefix=false\nremove_extra_whitespaces=false"
                           "\nsplit_digits=false\nbyte_fallback=true\ncharacter_coverage=1.0\nmax_sentence_length=65536"
                           "\nunk_id=0\nbos_id=-1\neos_id=-1\npad_id=-1\nminloglevel=1\nnum_threads=" +
                           std::to_string(std::max(1, o.threads)) + "\n";
  char* proto = nullptr;
  size_t n = 0;
  char* err = nullptr;
  if (m.train(text.data(), text.size(), args.c_str(), &proto, &n, &err) != 0)
    throw std::invalid_argument("SentencePiece could not train the tokenizer: " + m.take_error(err));
  const std::string model(proto, n);
  m.free(proto);
  io::write_atomically(out, [&](std::ostream& os) { os.write(model.data(), std::streamsize(model.size())); });
  return std::make_shared<SentencePieceTokenizer>(model, out, content_hash(model));
}

}  // namespace eqt::data
