// tests/data/test_tokenizer.cpp — tokenizers: bytes are the identity; a SentencePiece model
// trained by eqt gives any UTF-8 text back byte for byte (unseen characters included, via
// byte fallback), compresses the text it was trained on, is refused once its file changes,
// and the text task built on it holds out the same bytes as the byte-level one and reports
// bits per byte with its bytes per token.
#include "eqt/data/make_task.h"
#include "eqt/data/text.h"
#include "eqt/data/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace eqt;

namespace {

// ~60 kB of lines of words drawn from a small vocabulary (so BPE has pairs to merge).
std::string corpus() {
  const char* words[] = {"and", "the", "of", "he", "said", "unto", "them", "lord", "god", "land", "king", "house"};
  std::mt19937 rng(7);
  std::string s;
  for (int line = 0; line < 2000; ++line) {
    s += std::to_string(line % 50 + 1) + ":" + std::to_string(line % 7 + 1);
    for (int w = 0; w < 5; ++w) s += std::string(" ") + words[rng() % 12];
    s += ".\n";
  }
  return s;
}

std::string write(const std::string& name, const std::string& bytes) {
  const auto path = ::testing::TempDir() + "eqt_tok_" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string trained(const std::string& type) {
  const auto path = ::testing::TempDir() + "eqt_tok_" + type + ".model";
  std::filesystem::remove(path);
  data::TokenizerTrainOptions o;
  o.type = type;
  o.vocab = 340;
  data::train_sentencepiece(corpus(), o, path);
  return path;
}

TEST(Tokenizer, BytesAreTheIdentity) {
  auto t = data::bytes_tokenizer();
  const std::string s = "a\n\xC3\xA9\x00z";
  auto ids = t->encode(s);
  ASSERT_EQ(ids.size(), s.size());
  EXPECT_EQ(ids[2], 0xC3);
  EXPECT_EQ(t->decode(ids), s);
  EXPECT_EQ(t->vocab(), 256);
}

TEST(Tokenizer, SentencePieceIsByteExactAndCompresses) {
  if (!data::sentencepiece_available()) GTEST_SKIP() << "eqt was built without SentencePiece (install libsentencepiece-dev and rebuild)";
  for (const std::string type : {"bpe", "unigram"}) {
    auto tok = data::load_sentencepiece(trained(type));
    EXPECT_EQ(tok->vocab(), 340) << type;
    const std::string text = corpus();
    const auto ids = tok->encode(text);
    const double bpt = double(text.size()) / double(ids.size());
    std::printf("%s: %zu bytes -> %zu tokens (%.2f bytes per token)\n", type.c_str(), text.size(), ids.size(), bpt);
    EXPECT_GT(bpt, 2.0) << type << ": the tokenizer should merge the corpus' frequent words";
    EXPECT_EQ(tok->decode(ids), text) << type;
    // Never seen: double spaces, a leading space, tabs, accents, an emoji, a lone newline.
    const std::string odd = "  the\tLORD  \xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80\n\nunto";
    EXPECT_EQ(tok->decode(tok->encode(odd)), odd) << type;
  }
}

TEST(Tokenizer, AChangedFileIsRefused) {
  if (!data::sentencepiece_available()) GTEST_SKIP() << "eqt was built without SentencePiece (install libsentencepiece-dev and rebuild)";
  const auto path = trained("bpe");
  auto tok = data::load_sentencepiece(path);
  const std::string hash = tok->describe().at("tokenizer_hash");
  EXPECT_NO_THROW(data::load_sentencepiece(path, hash));
  std::filesystem::remove(path);
  data::TokenizerTrainOptions o;
  o.vocab = 350;
  data::train_sentencepiece(corpus(), o, path);
  try {
    data::load_sentencepiece(path, hash);
    FAIL() << "a changed tokenizer file was accepted";
  } catch (const std::runtime_error& e) {
    std::printf("changed: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find("changed"), std::string::npos);
  }
  EXPECT_THROW(data::load_sentencepiece(write("junk.model", "not a model")), std::runtime_error);
  EXPECT_THROW(data::load_sentencepiece(::testing::TempDir() + "eqt_tok_missing.model"), std::exception);
}

TEST(Tokenizer, TextTaskOnSubwords) {
  if (!data::sentencepiece_available()) GTEST_SKIP() << "eqt was built without SentencePiece (install libsentencepiece-dev and rebuild)";
  const auto file = write("corpus.txt", corpus());
  data::TextOptions o;
  o.data = file;
  o.seq_len = 16;
  data::TextTask bytes(o);
  o.tokenizer = trained("bpe");
  data::TextTask sub(o);
  EXPECT_EQ(sub.vocab(), 340);
  EXPECT_LT(sub.val_tokens(), bytes.val_tokens());
  // The same held-out bytes: tokens per byte of the split times its tokens gives its bytes.
  EXPECT_NEAR(sub.bytes_per_token() * double(sub.val_tokens()), double(bytes.val_tokens()), 1e-6);
  EXPECT_EQ(bytes.bytes_per_token(), 1.0);
  // Rebuilt from the options a checkpoint stores: the same tokens.
  auto again = data::make_task("text", sub.options());
  auto b1 = sub.eval_batches(8), b2 = again->eval_batches(8);
  ASSERT_EQ(b1.size(), b2.size());
  EXPECT_TRUE(torch::equal(b1[0].tokens, b2[0].tokens));
  EXPECT_EQ(sub.options().at("tokenizer_hash"), data::load_sentencepiece(o.tokenizer)->describe().at("tokenizer_hash"));
}

}  // namespace
