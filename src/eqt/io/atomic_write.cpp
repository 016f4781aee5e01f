// eqt/io/atomic_write.cpp — see atomic_write.h.
#include "eqt/io/atomic_write.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace eqt::io {

void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& why) {
    std::remove(tmp.c_str());
    throw std::runtime_error("writing '" + path + "' failed: " + why + "; the previous file (if any) is unchanged");
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(std::string("cannot create '") + tmp + "': " + std::strerror(errno));
    try {
      write(out);
    } catch (const std::exception& e) {
      out.close();
      fail(e.what());
    }
    out.flush();
    const int err = errno;
    if (!out) fail(std::string("short write (") + std::strerror(err) + ", disk full?)");
    out.close();
    if (!out) fail("closing the file failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(std::string("cannot rename '") + tmp + "': " + std::strerror(errno));
}

}  // namespace eqt::io
