# bolt_add_plugin(<name> SOURCES <file>...): a Bolt plugin, loadable by bolt-worker as
# `--plugin <path to lib<name>.so>` (or `--plugin <name>` once it sits in a folder of
# $BOLT_PLUGIN_PATH or in lib/bolt/plugins next to bolt-worker). Sets what a plugin needs:
# a shared module linked to Bolt::bolt, hidden visibility (only bolt_plugin_info is exported,
# see bolt/Plugin.h) and the same C++ standard as Bolt.
function(bolt_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "bolt_add_plugin(${name}): give SOURCES")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Bolt::bolt)
  target_compile_features(${name} PRIVATE cxx_std_17)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(BOLT_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${BOLT_PLUGIN_OUTPUT_DIR}")
  endif()
endfunction()
