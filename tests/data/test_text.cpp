// Byte-level text task: UTF-8 validation with file:line:col, the train / validation split,
// and windows whose targets are the next bytes.
#include "eqt/data/text.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace eqt;

namespace {

std::string write(const std::string& name, const std::string& bytes) {
  const auto path = ::testing::TempDir() + "eqt_text_" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string utf8_error(const std::string& bytes) {
  try {
    data::check_utf8(bytes, "f.txt");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Text, Utf8ErrorsNameLineAndColumn) {
  EXPECT_EQ(utf8_error("plain\nand \xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n"), "");  // é, €, emoji
  auto e = utf8_error("first line\nsecond \xFF line\n");
  std::printf("  %s\n", e.c_str());
  EXPECT_NE(e.find("f.txt:2:8:"), std::string::npos) << e;
  EXPECT_NE(e.find("0xFF"), std::string::npos) << e;
  EXPECT_NE(utf8_error("ab\xC3").find("f.txt:1:3:"), std::string::npos);        // truncated sequence
  EXPECT_NE(utf8_error("\xC0\xAF").find("0xC0"), std::string::npos);            // overlong '/'
  EXPECT_NE(utf8_error("x\xED\xA0\x80").find("f.txt:1:2:"), std::string::npos);  // UTF-16 surrogate
  EXPECT_NE(utf8_error("\xF4\x90\x80\x80").find("0xF4"), std::string::npos);     // above U+10FFFF
}

TEST(Text, SplitAndWindows) {
  std::string text;
  for (int i = 0; i < 4000; ++i) text += char('a' + (i * 7) % 26);
  data::TextOptions o;
  o.data = write("ok.txt", text);
  o.seq_len = 16;
  o.val_fraction = 0.1;
  o.val_windows = 0;
  data::TextTask t(o);
  EXPECT_EQ(t.train_tokens(), 3600);
  EXPECT_EQ(t.val_tokens(), 400);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto b = t.train_batch(8, gen);
  ASSERT_EQ(b.tokens.sizes(), (std::vector<int64_t>{8, 16}));
  // Targets are the inputs shifted by one byte.
  EXPECT_TRUE(b.tokens.narrow(1, 1, 15).equal(b.targets.narrow(1, 0, 15)));
  // Every validation window comes from the held-out tail: 399 / 16 = 24 windows.
  int64_t windows = 0;
  for (const auto& e : t.eval_batches(10)) {
    windows += e.tokens.size(0);
    for (int64_t r = 0; r < e.tokens.size(0); ++r)
      for (int64_t c = 0; c < 16; ++c) EXPECT_EQ(e.targets[r][c].item<int64_t>(), (e.tokens[r][c].item<int64_t>() - 'a' + 7) % 26 + 'a');
  }
  EXPECT_EQ(windows, 24);
  o.val_windows = 5;
  int64_t capped = 0;
  for (const auto& e : data::TextTask(o).eval_batches(10)) capped += e.tokens.size(0);
  EXPECT_EQ(capped, 5);
}

TEST(Text, BadFilesAreRejectedByName) {
  data::TextOptions o;
  o.seq_len = 16;
  o.data = write("bad.txt", std::string(100, 'a') + "\n\x80" + std::string(100, 'b'));
  EXPECT_THROW(
      {
        try {
          data::TextTask t(o);
        } catch (const std::invalid_argument& e) {
          EXPECT_NE(std::string(e.what()).find(o.data + ":2:1:"), std::string::npos) << e.what();
          throw;
        }
      },
      std::invalid_argument);
  o.data = write("short.txt", "tiny");
  EXPECT_THROW(data::TextTask t(o), std::invalid_argument);
  o.data = ::testing::TempDir() + "does_not_exist.txt";
  EXPECT_THROW(data::TextTask t(o), std::invalid_argument);
}

}  // namespace
