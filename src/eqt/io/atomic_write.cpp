// eqt/io/atomic_write.cpp — see atomic_write.h.
#include "eqt/io/atomic_write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <streambuf>
#include <vector>

namespace eqt::io {
namespace {

namespace fs = std::filesystem;

// An output stream buffer over a file descriptor: 1 MiB blocks, write(2) until done. A
// failed write makes overflow / sync report failure, which sets the stream's badbit.
class FdBuf final : public std::streambuf {
 public:
  explicit FdBuf(int fd) : fd_(fd), buf_(size_t(1) << 20) { setp(buf_.data(), buf_.data() + buf_.size()); }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool drain() {
    const char* p = pbase();
    while (p < pptr()) {
      const ssize_t n = ::write(fd_, p, size_t(pptr() - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        return false;
      }
      p += n;
    }
    setp(buf_.data(), buf_.data() + buf_.size());
    return true;
  }
  int fd_;
  std::vector<char> buf_;
  int error_ = 0;
};

// The process's umask, read without changing it (umask(2) can only set it, and setting it
// even for a moment would give files other threads or children create meanwhile the wrong
// mode); Linux reports it in /proc/self/status since 4.7, else 022 is assumed.
mode_t process_umask() {
  static const mode_t m = [] {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("Umask:", 0) == 0) return mode_t(std::stoul(line.substr(6), nullptr, 8));
    return mode_t(022);
  }();
  return m;
}

}  // namespace

void refuse_overwriting_inputs(const std::string& path, const std::vector<std::string>& inputs, const std::string& what) {
  std::error_code ec;
  for (const auto& in : inputs)
    if (fs::exists(path, ec) && fs::exists(in, ec) && fs::equivalent(path, in, ec))
      throw std::invalid_argument(what + " '" + path + "' is '" + in +
                                  "', which this command reads: writing it would destroy its own input; choose another path");
}

void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& write,
                      const std::vector<std::string>& inputs) {
  refuse_overwriting_inputs(path, inputs, "the output");
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  auto fail = [&](const std::string& why, bool created) {
    if (created) ::unlink(tmp.c_str());
    throw std::runtime_error("writing '" + path + "' failed: " + why + "; the previous file (if any) is unchanged");
  };
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail(std::string("cannot create a temporary file in '") + dir.string() + "': " + std::strerror(errno), false);
  ::fchmod(fd, 0666 & ~process_umask());
  {
    FdBuf buf(fd);
    std::ostream out(&buf);
    try {
      write(out);
    } catch (const std::exception& e) {
      ::close(fd);
      fail(e.what(), true);
    } catch (...) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw;
    }
    out.flush();
    if (!out || buf.error()) {
      const int err = buf.error() ? buf.error() : EIO;
      ::close(fd);
      fail(std::string("short write (") + std::strerror(err) + ", disk full?)", true);
    }
  }
  if (::close(fd) != 0) fail(std::string("closing the file failed (") + std::strerror(errno) + ", disk full?)", true);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    fail(std::string("cannot rename '") + tmp + "': " + std::strerror(errno), true);
}

}  // namespace eqt::io
