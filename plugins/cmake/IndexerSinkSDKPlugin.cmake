# indexer_add_sink_plugin(<target> NAME <name> SOURCES <file>...)
#
# Builds a sink plugin as the MODULE library indexer-sink-<name>.so, the file
# name the indexer looks for when a pipeline names the sink <name>. Only the
# plugin's two entry symbols are exported (hidden visibility), so that plugins
# loaded into one process never see each other's code.
function(indexer_add_sink_plugin target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "NAME" "SOURCES")
  if(NOT arg_NAME MATCHES "^[a-z0-9_-]+$")
    message(FATAL_ERROR "indexer_add_sink_plugin(${target}): NAME must match [a-z0-9_-]+, got '${arg_NAME}'")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "indexer_add_sink_plugin(${target}): SOURCES is empty")
  endif()
  add_library(${target} MODULE ${arg_SOURCES})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME "indexer-sink-${arg_NAME}"
    PREFIX ""
    SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${target} PRIVATE IndexerSinkSDK::sdk)
endfunction()
