# cli/embed_text.cmake — what the build's embedding scripts (embed_presets.cmake,
# embed_page.cmake) share: a file's text checked to fit a C++ raw string with a given
# delimiter, and a generated file rewritten only when its text changes (so an unchanged
# input rebuilds nothing). Included by those scripts; not run on its own.

# Fails the build when TEXT (from FILE) contains )DELIM" and so cannot sit in R"DELIM(...)DELIM".
function(eqt_check_raw_delimiter TEXT DELIM FILE)
  string(FIND "${TEXT}" ")${DELIM}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${FILE} contains the raw-string delimiter )${DELIM}\"")
  endif()
endfunction()

# Writes BODY to OUT unless OUT already holds exactly BODY.
function(eqt_write_if_changed OUT BODY)
  set(old "")
  if(EXISTS "${OUT}")
    file(READ "${OUT}" old)
  endif()
  if(NOT "${old}" STREQUAL "${BODY}")
    file(WRITE "${OUT}" "${BODY}")
  endif()
endfunction()
