// io::write_atomically, the one way eqt writes files (issue 26 item 8): a failed write (the
// file-size limit hit mid-write, a producer that throws) leaves no temporary behind, keeps
// the previous file byte for byte and names it; a symlink planted at the old fixed
// temporary name (PATH.tmp) is not followed; a symlink at PATH is replaced, its target left
// alone; a write onto one of the command's own inputs is refused; two writers racing on one
// path leave one whole file; and io::FolderLock refuses a second writer but not a resume
// after the first died.
#include "eqt/io/atomic_write.h"
#include "eqt/io/folder_lock.h"
#include "eqt/io/tensor_file.h"
#include "eqt/io/text_file.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <algorithm>

using namespace eqt;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fresh_dir(const std::string& name) {
  auto d = ::testing::TempDir() + "eqt_atomic_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The names in a folder, sorted.
std::vector<std::string> names_in(const std::string& d) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(d)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AtomicWrite, FileSizeLimitLeavesNoTemporaryAndTheOldFile) {
  const auto d = fresh_dir("full");
  const std::string text = d + "/eval.json", tensors = d + "/checkpoint.eqt";
  io::write_text_file(text, "old\n");
  io::TensorFile f;
  f.meta = {{"step", 1}};
  f.tensors.push_back({"w", torch::arange(100000, torch::kFloat32)});  // 400 kB
  io::save_tensor_file(tensors, f);
  const auto old_text = slurp(text), old_tensors = slurp(tensors);
  // Writes past 64 kB fail with EFBIG (SIGXFSZ ignored), as a full disk fails them.
  auto old_sig = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit old_lim {};
  getrlimit(RLIMIT_FSIZE, &old_lim);
  struct rlimit lim = old_lim;
  lim.rlim_cur = 64 << 10;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  for (const auto& path : {text, tensors}) {
    std::string err;
    try {
      if (path == text) io::write_text_file(path, std::string(1 << 20, 'x'));
      else io::save_tensor_file(path, f);
    } catch (const std::runtime_error& e) {
      err = e.what();
    }
    std::printf("  %s: %s\n", fs::path(path).filename().c_str(), err.c_str());
    EXPECT_NE(err.find(path), std::string::npos) << "the error must name the file: " << err;
  }
  setrlimit(RLIMIT_FSIZE, &old_lim);
  std::signal(SIGXFSZ, old_sig);
  EXPECT_EQ(names_in(d), (std::vector<std::string>{"checkpoint.eqt", "eval.json"})) << "a temporary was left behind";
  EXPECT_EQ(slurp(text), old_text);
  EXPECT_EQ(slurp(tensors), old_tensors);
  EXPECT_EQ(io::load_tensor_file(tensors).meta["step"], 1);
}

TEST(AtomicWrite, AThrowingWriterLeavesNoTemporary) {
  const auto d = fresh_dir("throw");
  const std::string path = d + "/x.txt";
  EXPECT_THROW(io::write_atomically(path, [](std::ostream& out) {
                 out << "partial";
                 throw std::runtime_error("the producer failed");
               }),
               std::runtime_error);
  EXPECT_TRUE(names_in(d).empty());
  io::write_atomically(path, [](std::ostream& out) { out << "whole"; });
  EXPECT_EQ(slurp(path), "whole");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  const mode_t u = ::umask(0);
  ::umask(u);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~u) << "a new file gets 0666 less the umask, like an ofstream's";
}

TEST(AtomicWrite, SymlinksAreNotFollowed) {
  const auto d = fresh_dir("links");
  const std::string victim = d + "/victim.txt", path = d + "/out.txt";
  io::write_text_file(victim, "precious\n");
  // A link planted at the temporary name earlier versions used (PATH.tmp).
  fs::create_symlink(victim, path + ".tmp");
  io::write_text_file(path, "new\n");
  EXPECT_EQ(slurp(victim), "precious\n") << "the write went through the planted PATH.tmp link";
  EXPECT_EQ(slurp(path), "new\n");
  // A link at PATH itself: replaced by the new file, its target untouched.
  const std::string link = d + "/link.txt";
  fs::create_symlink(victim, link);
  io::write_text_file(link, "through the link?\n");
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_FALSE(fs::is_symlink(link));
  EXPECT_EQ(slurp(link), "through the link?\n");
}

TEST(AtomicWrite, AnInputIsNeverOverwritten) {
  const auto d = fresh_dir("inputs");
  const std::string in = d + "/checkpoint.eqt", alias = d + "/alias.eqt";
  io::write_text_file(in, "weights\n");
  fs::create_symlink(in, alias);
  for (const auto& out : {in, alias, d + "/./checkpoint.eqt"}) {
    std::string err;
    try {
      io::write_atomically(out, [](std::ostream& o) { o << "clobbered"; }, {in});
    } catch (const std::invalid_argument& e) {
      err = e.what();
    }
    std::printf("  %s: %s\n", out.c_str(), err.c_str());
    EXPECT_NE(err.find("its own input"), std::string::npos) << out;
  }
  EXPECT_EQ(slurp(in), "weights\n");
  io::write_atomically(d + "/other.txt", [](std::ostream& o) { o << "fine"; }, {in});  // another path is fine
  EXPECT_EQ(slurp(d + "/other.txt"), "fine");
}

TEST(AtomicWrite, RacingWritersLeaveOneWholeFile) {
  const auto d = fresh_dir("race");
  const std::string path = d + "/shared.txt";
  const std::string a(300000, 'a'), b(200000, 'b');
  auto writer = [&](const std::string& text) {
    for (int i = 0; i < 20; ++i) io::write_text_file(path, text);
  };
  std::thread t1(writer, a), t2(writer, b);
  t1.join();
  t2.join();
  const auto got = slurp(path);
  EXPECT_TRUE(got == a || got == b) << "interleaved content of " << got.size() << " bytes";
  EXPECT_EQ(names_in(d), std::vector<std::string>{"shared.txt"});
}

TEST(FolderLock, ASecondWriterIsRefusedADeadOneIsNot) {
  const auto d = fresh_dir("lock");
  {
    io::FolderLock first(d, "test one");
    std::string err;
    // flock locks belong to the open file description: a second open, as another process
    // makes, conflicts with the first even inside one process.
    try {
      io::FolderLock second(d, "test two");
    } catch (const std::invalid_argument& e) {
      err = e.what();
    }
    std::printf("  second writer: %s\n", err.c_str());
    EXPECT_NE(err.find("in use by another eqt process"), std::string::npos);
    EXPECT_NE(err.find("pid " + std::to_string(::getpid())), std::string::npos) << "names the holder";
  }
  { io::FolderLock again(d, "after release"); }  // released with its holder
  // A holder killed with SIGKILL: the kernel releases its lock; the file stays.
  const pid_t child = fork();
  const std::string lock_file = d + "/eqt.lock";
  if (child == 0) {  // only async-signal-safe calls after fork: the lock FolderLock takes, by hand
    const int fd = ::open(lock_file.c_str(), O_RDWR);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) _exit(3);
    ::kill(::getpid(), SIGKILL);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(fs::exists(d + "/eqt.lock"));
  EXPECT_NO_THROW(io::FolderLock resumed(d, "resume after a kill -9"));
}

}  // namespace
