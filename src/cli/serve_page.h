// cli/serve_page.h — the page `eqt serve` answers GET / with: serve_page.html, compiled into
// the binary at build time (embed_page.cmake), so the server needs no files and the page
// works offline (inline CSS and JavaScript, system fonts, no external requests).
// What it is not: a template (the page learns everything from /health and the API).
#pragma once

namespace eqt::cli {

const char* serve_page_html();

}  // namespace eqt::cli
