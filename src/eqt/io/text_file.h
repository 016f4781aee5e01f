// eqt/io/text_file.h — whole-file text output that never leaves half a file behind.
// What it is not: a format; callers choose the content (puzzles, SVG, JSON).
#pragma once

#include <string>

namespace eqt::io {

// Writes text to path atomically (temp file + rename); errors name the path.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace eqt::io
