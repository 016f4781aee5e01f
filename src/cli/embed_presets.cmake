# cli/embed_presets.cmake — writes OUT, a C++ file holding every configs/*.json preset as a
# string, so that a binary finds its presets wherever it is (issue 27), not through the
# source folder it was built from. Run by the build (src/CMakeLists.txt) whenever a preset
# changes. Usage: cmake -DCONFIGS=dir -DOUT=file -P embed_presets.cmake
include(${CMAKE_CURRENT_LIST_DIR}/embed_text.cmake)
file(GLOB presets "${CONFIGS}/*.json")
list(SORT presets)
set(body "// Generated from configs/*.json by src/cli/embed_presets.cmake at build time; do not edit.\n")
string(APPEND body "#include \"cli/preset.h\"\n\nnamespace eqt::cli {\n\n")
string(APPEND body "const std::vector<EmbeddedPreset>& embedded_presets() {\n  static const std::vector<EmbeddedPreset> table = {\n")
foreach(p ${presets})
  get_filename_component(name "${p}" NAME_WE)
  file(READ "${p}" text)
  eqt_check_raw_delimiter("${text}" eqt_preset "${p}")
  string(APPEND body "      {\"${name}\", R\"eqt_preset(${text})eqt_preset\"},\n")
endforeach()
string(APPEND body "  };\n  return table;\n}\n\n}  // namespace eqt::cli\n")
eqt_write_if_changed("${OUT}" "${body}")
