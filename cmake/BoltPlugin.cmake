# bolt_add_plugin(<name> SOURCES <file>...): a Bolt plugin, loadable by bolt-worker as
# `--plugin <name>` (found in lib/bolt/plugins next to the binaries) or by its path.
function(bolt_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "bolt_add_plugin(${name}): give SOURCES")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Bolt::bolt)
  # Only bolt_plugin_info needs to be visible; the rest stays private to the plugin.
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${BOLT_PLUGIN_OUTPUT_DIR}")
endfunction()
