// eqt/io/atomic_write.h — the one way eqt writes a file: readers see the old file or the
// whole new one, never a part, and the write cannot be turned against another file.
//  - The content goes to a fresh temporary beside the target, created exclusively
//    (mkstemp: O_CREAT | O_EXCL, a random name, so no two writers share one and a symlink
//    planted at a predictable name is never followed), written through its descriptor,
//    flushed and closed, then renamed onto PATH. A symbolic link at PATH is replaced by the
//    file; the file it pointed to is left alone.
//  - On any failure (disk full, a quota, a callback that throws) the temporary is removed,
//    PATH is untouched, and the error names PATH.
//  - `inputs`: files the command read to make this one (a run's checkpoint for export, a
//    tokenizer's corpus); a PATH that is one of them (the same file, through any name or
//    link) is refused before anything is written.
// The new file gets mode 0666 less the process umask (0644 usually), as an ofstream would.
// What it is not: durable across a power cut (no fsync); a crash between writes is what
// the rename protects against.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace eqt::io {

void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& write,
                      const std::vector<std::string>& inputs = {});

// std::invalid_argument when `path` is the same file as one of `inputs` (what: the flag or
// job that names path, for the message).
void refuse_overwriting_inputs(const std::string& path, const std::vector<std::string>& inputs, const std::string& what);

}  // namespace eqt::io
