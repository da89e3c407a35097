#include <indexer/plugin/plugin_search_path.hpp>

#include <algorithm>
#include <cstdlib>
#include <system_error>

#ifndef INDEXER_PLUGIN_RELATIVE_DIR
#error \
    "INDEXER_PLUGIN_RELATIVE_DIR must be defined by the build (the plugin directory relative to the binary)"
#endif

namespace indexer::plugin {
namespace {

std::filesystem::path normal(const std::filesystem::path& path) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    return (ec ? path : absolute).lexically_normal();
}

bool is_inside(const std::filesystem::path& path, const std::filesystem::path& directory) {
    const std::filesystem::path relative = normal(path).lexically_relative(normal(directory));
    return !relative.empty() && *relative.begin() != "..";
}

void add(std::vector<std::filesystem::path>& dirs, const std::filesystem::path& dir) {
    if (dir.empty()) return;
    std::filesystem::path normalised = normal(dir);
    // "a/b/" and "a/b" are one directory.
    if (!normalised.has_filename()) normalised = normalised.parent_path();
    if (std::find(dirs.begin(), dirs.end(), normalised) == dirs.end()) dirs.push_back(std::move(normalised));
}

}  // namespace

std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& config_dirs,
                                                      std::string_view plugin_path_variable,
                                                      const std::filesystem::path& executable) {
    std::vector<std::filesystem::path> dirs;
    for (const std::string& dir : config_dirs) add(dirs, dir);
    while (!plugin_path_variable.empty()) {
        const std::size_t colon = plugin_path_variable.find(':');
        add(dirs, std::filesystem::path(plugin_path_variable.substr(0, colon)));
        if (colon == std::string_view::npos) break;
        plugin_path_variable.remove_prefix(colon + 1);
    }
    if (!executable.empty()) {
        add(dirs, executable.parent_path() / INDEXER_PLUGIN_RELATIVE_DIR);
#if defined(INDEXER_PLUGIN_BUILD_DIR) && defined(INDEXER_BUILD_TREE_DIR)
        // Only binaries of the build tree look there, so that an installed
        // indexer never picks up plugins from a developer's build.
        if (is_inside(executable, INDEXER_BUILD_TREE_DIR)) add(dirs, INDEXER_PLUGIN_BUILD_DIR);
#endif
    }
    return dirs;
}

std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& config_dirs) {
    const char* variable = std::getenv(kPluginPathVariable);  // NOLINT(concurrency-mt-unsafe): start-up only
    std::error_code ec;
    const std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", ec);
    return plugin_search_path(config_dirs, variable == nullptr ? "" : variable,
                              ec ? std::filesystem::path{} : executable);
}

}  // namespace indexer::plugin
