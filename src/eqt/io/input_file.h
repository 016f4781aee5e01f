// eqt/io/input_file.h — open a data file a user named (--data, puzzle files) for reading,
// refusing what cannot be read to an end: a device (/dev/zero, /dev/urandom), a FIFO or
// socket, a directory, or a file larger than max_bytes. Reading such a "file" would grow
// memory without bound until the machine runs out.
// What it is not: a parser; callers read the stream.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace eqt::io {

constexpr uint64_t kMaxInputBytes = uint64_t(4) << 30;  // 4 GiB

// std::invalid_argument "<what> '<path>': ..." naming why it cannot be read.
std::ifstream open_input_file(const std::string& path, const std::string& what, uint64_t max_bytes = kMaxInputBytes);
// The whole file, with the same checks.
std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes = kMaxInputBytes);

}  // namespace eqt::io
