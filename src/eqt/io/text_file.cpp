// eqt/io/text_file.cpp — see text_file.h.
#include "eqt/io/text_file.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace eqt::io {

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw std::invalid_argument("cannot write '" + path + "'");
    out << text;
    if (!out.flush()) throw std::runtime_error("writing '" + path + "' failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename onto '" + path + "'");
}

}  // namespace eqt::io
