// eqt/io/input_file.cpp — see input_file.h.
#include "eqt/io/input_file.h"

#include <sstream>

#include <filesystem>
#include <stdexcept>

namespace eqt::io {

std::ifstream open_input_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  namespace fs = std::filesystem;
  auto bad = [&](const std::string& why) { return std::invalid_argument(what + " '" + path + "': " + why); };
  std::error_code ec;
  const auto st = fs::status(path, ec);  // follows symbolic links
  if (ec || !fs::exists(st)) throw bad("no such file");
  if (fs::is_directory(st)) throw bad("is a directory; expected a file");
  if (!fs::is_regular_file(st))
    throw bad("is not a regular file (a device, FIFO or socket can be read without end); expected a file");
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw bad("cannot read its size");
  if (size > max_bytes)
    throw bad("is " + std::to_string(size) + " bytes; at most " + std::to_string(max_bytes) + " are read");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw bad("cannot open it for reading");
  return in;
}

std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  auto in = open_input_file(path, what, max_bytes);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace eqt::io
