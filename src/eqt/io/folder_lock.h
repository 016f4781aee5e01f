// eqt/io/folder_lock.h — one writer per folder: an advisory lock (flock) on FOLDER/eqt.lock,
// held while the process that took it lives. A second writer (another `eqt train --out`
// the same folder, a second sweep on one folder) is refused naming the folder and the holder
// pid; a writer that died (kill -9, a crash) holds nothing, because the kernel releases its
// lock with its last descriptor, so a resume is never blocked by a stale file. The file
// itself stays (its content, the holder's pid and command, is only for messages).
// The descriptor is close-on-exec: a child process (a sweep's `eqt train`) does not inherit
// its parent's lock.
// What it is not: a lock for readers (eval, plot, compare read while a run trains), or a
// lock across machines on a network file system where flock is not shared.
#pragma once

#include <string>

namespace eqt::io {

class FolderLock {
 public:
  // Creates `dir` if missing and locks it, or throws std::invalid_argument naming `dir`, the
  // holder and `what` (the job that wanted it). wait_s > 0: retries for up to that many
  // seconds first (a sweep's child whose predecessor is still saving its checkpoint).
  FolderLock(const std::string& dir, const std::string& what, double wait_s = 0);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  static constexpr const char* kFileName = "eqt.lock";

 private:
  int fd_ = -1;
};

}  // namespace eqt::io
