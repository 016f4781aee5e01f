// eqt/io/folder_lock.cpp — see folder_lock.h.
#include "eqt/io/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace eqt::io {

FolderLock::FolderLock(const std::string& dir, const std::string& what, double wait_s) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::invalid_argument("cannot create folder '" + dir + "' for " + what + ": " + ec.message());
  const std::string path = dir + "/" + kFileName;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0)
    throw std::invalid_argument("cannot open the lock file '" + path + "' for " + what + ": " + std::strerror(errno));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s);
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EWOULDBLOCK && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    char holder[256] = {0};
    const ssize_t n = ::pread(fd_, holder, sizeof(holder) - 1, 0);
    std::string who = n > 0 ? std::string(holder, size_t(n)) : std::string();
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    for (char& c : who)
      if (c == '\n') c = ',';
    ::close(fd_);
    fd_ = -1;
    if (err != EWOULDBLOCK)
      throw std::invalid_argument("cannot lock '" + path + "' for " + what + ": " + std::strerror(err));
    throw std::invalid_argument("folder '" + dir + "' is in use by another eqt process (" +
                                (who.empty() ? std::string("holder unknown") : who) + "; lock " + path +
                                "): refusing a second writer for " + what + "; wait for it to end or use another folder");
  }
  const std::string me = "pid " + std::to_string(::getpid()) + "\n" + what + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    ssize_t ignored = ::pwrite(fd_, me.data(), me.size(), 0);
    (void)ignored;
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays
}

}  // namespace eqt::io
