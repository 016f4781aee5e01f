# cli/embed_page.cmake — writes OUT, a C++ file holding serve_page.html as a string (GET / of
# `eqt serve`), so the binary serves its page wherever it is. Run by the build whenever the
# page changes; not a general resource compiler (one file, one function).
# Usage: cmake -DPAGE=file -DOUT=file -P embed_page.cmake
include(${CMAKE_CURRENT_LIST_DIR}/embed_text.cmake)
file(READ "${PAGE}" text)
eqt_check_raw_delimiter("${text}" eqt_page "${PAGE}")
set(body "// Generated from src/cli/serve_page.html by src/cli/embed_page.cmake at build time; do not edit.\n")
string(APPEND body "#include \"cli/serve_page.h\"\n\nnamespace eqt::cli {\n\n")
string(APPEND body "const char* serve_page_html() {\n  return R\"eqt_page(${text})eqt_page\";\n}\n\n}  // namespace eqt::cli\n")
eqt_write_if_changed("${OUT}" "${body}")
