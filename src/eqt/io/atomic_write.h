// eqt/io/atomic_write.h — write a file so that readers see the old file or the whole new
// one, never a part: the content goes to PATH.tmp, which is renamed onto PATH only after it
// was written, flushed and closed without error. On any failure (disk full, a quota, a
// callback that throws) PATH.tmp is removed, so a failed write leaves the disk as it was
// and PATH untouched, and the error names PATH.
// What it is not: durable across a power cut (no fsync); a crash between writes is what
// the rename protects against.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace eqt::io {

void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace eqt::io
