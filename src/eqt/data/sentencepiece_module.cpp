// eqt/data/sentencepiece_module.cpp — SentencePiece behind a small C interface, built as its
// own module (libeqt_sentencepiece.so) and loaded by tokenizer.cpp with dlopen.
//
// Why a module: Debian's libsentencepiece carries its own copy of protobuf and exports its
// symbols; linked into eqt next to LibTorch (whose libprotobuf.so.32 is already there), the
// two copies resolve into each other and every eqt command crashes while the libraries
// load (measured: `eqt --help` exits with SIGSEGV in protobuf's static initialisers). Loaded
// later with RTLD_LOCAL | RTLD_DEEPBIND, the module and SentencePiece bind to their own
// protobuf and LibTorch's stays untouched. Nothing C++ crosses the boundary.
// The price of RTLD_DEEPBIND: the module and SentencePiece bind std::cerr / std::cout /
// std::clog to libstdc++'s own definitions, while the program's iostream initialisation
// constructed the copies in the executable (the copy relocations every executable that
// names std::cout gets): the module's std::cerr was never constructed, and the first
// message SentencePiece logged (a warning about a long line, a vocabulary it cannot fill)
// crashed in ostream's sentry. bind_standard_streams() constructs them over the program's
// stream buffers before SentencePiece runs, so its messages reach stderr like eqt's.
// What it is not: a tokenizer API (tokenizer.h is); no torch in here.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <dlfcn.h>

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <new>
#include <utility>
#include <cstring>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

void bind_standard_streams() {
  static std::once_flag once;
  std::call_once(once, [] {
    // libstdc++'s own definitions: what SentencePiece's deep-bound references resolve to.
    void* libstdcxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
    // The program and its global scope (RTLD_DEFAULT would search this module's deep-bound
    // scope first and find libstdc++'s definition again).
    void* program_scope = dlopen(nullptr, RTLD_LAZY);
    if (!libstdcxx || !program_scope) return;
    for (const char* symbol : {"_ZSt4cerr", "_ZSt4cout", "_ZSt4clog"}) {
      auto* library = static_cast<std::ostream*>(dlsym(libstdcxx, symbol));
      // The program's object: its global scope finds the executable's copy first.
      auto* program = static_cast<std::ostream*>(dlsym(program_scope, symbol));
      if (library && program && library != program) new (library) std::ostream(program->rdbuf());
    }
    dlclose(libstdcxx);
    dlclose(program_scope);
  });
}

char* copy_out(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

// Lines of a text as training sentences (empty lines skipped).
class Lines final : public sentencepiece::SentenceIterator {
 public:
  explicit Lines(std::string text) : text_(std::move(text)) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    while (pos_ <= text_.size()) {
      size_t end = text_.find('\n', pos_);
      if (end == std::string::npos) end = text_.size();
      line_.assign(text_, pos_, end - pos_);
      pos_ = end + 1;
      if (!line_.empty()) return;
    }
    done_ = true;
  }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  std::string text_, line_;
  size_t pos_ = 0;
  bool done_ = false;
};

}  // namespace

extern "C" {

// Every function returns 0 on success; on failure non-zero with *err a malloc'ed message.
int eqt_spm_load(const char* proto, size_t n, void** handle, char** err) {
  bind_standard_streams();
  auto* sp = new sentencepiece::SentencePieceProcessor();
  const auto st = sp->LoadFromSerializedProto(std::string(proto, n));
  if (!st.ok()) {
    *err = copy_out(st.ToString());
    delete sp;
    return 1;
  }
  *handle = sp;
  return 0;
}

void eqt_spm_close(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

int eqt_spm_size(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize(); }

// kind: 0 a piece of text, 1 a byte-fallback piece, 2 control, 3 unknown. The piece's bytes
// stay valid while the handle lives.
void eqt_spm_piece(void* handle, int id, const char** piece, size_t* len, int* kind) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  const std::string& p = sp->IdToPiece(id);
  *piece = p.data();
  *len = p.size();
  *kind = sp->IsByte(id) ? 1 : sp->IsControl(id) ? 2 : sp->IsUnknown(id) ? 3 : 0;
}

// *ids: malloc'ed, *count of them.
int eqt_spm_encode(void* handle, const char* text, size_t n, int** ids, size_t* count, char** err) {
  bind_standard_streams();
  std::vector<int> out;
  const auto st = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Encode(std::string(text, n), &out);
  if (!st.ok()) {
    *err = copy_out(st.ToString());
    return 1;
  }
  *ids = static_cast<int*>(std::malloc(std::max<size_t>(out.size(), 1) * sizeof(int)));
  std::memcpy(*ids, out.data(), out.size() * sizeof(int));
  *count = out.size();
  return 0;
}

// Trains on the text's lines; args: "key=value" lines (SentencePiece's trainer flags);
// *proto: the malloc'ed serialized model, *proto_n its size.
int eqt_spm_train(const char* text, size_t n, const char* args, char** proto, size_t* proto_n, char** err) {
  bind_standard_streams();
  std::unordered_map<std::string, std::string> kw;
  std::istringstream in(args);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) kw[line.substr(0, eq)] = line.substr(eq + 1);
  }
  Lines lines(std::string(text, n));
  std::string out;
  const auto st = sentencepiece::SentencePieceTrainer::Train(kw, &lines, &out);
  if (!st.ok()) {
    *err = copy_out(st.ToString());
    return 1;
  }
  *proto = static_cast<char*>(std::malloc(std::max<size_t>(out.size(), 1)));
  std::memcpy(*proto, out.data(), out.size());
  *proto_n = out.size();
  return 0;
}

void eqt_spm_free(void* p) { std::free(p); }

}  // extern "C"
