// eqt/io/text_file.cpp — see text_file.h.
#include "eqt/io/text_file.h"

#include "eqt/io/atomic_write.h"

namespace eqt::io {

void write_text_file(const std::string& path, const std::string& text) {
  write_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace eqt::io
