// Where sink plugins are looked for by name, first match wins.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::plugin {

// The environment variable with extra plugin directories, colon-separated.
inline constexpr const char* kPluginPathVariable = "INDEXER_PLUGIN_PATH";

// In order: `config_dirs`, the entries of INDEXER_PLUGIN_PATH, the directory
// installed next to the running binary, and — only for a binary inside the
// build tree — the build tree's plugin directory. Duplicates are dropped.
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& config_dirs);

// The same from explicit inputs (for tests): `plugin_path_variable` is the
// value of INDEXER_PLUGIN_PATH, `executable` the running binary.
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& config_dirs,
                                                      std::string_view plugin_path_variable,
                                                      const std::filesystem::path& executable);

}  // namespace indexer::plugin
