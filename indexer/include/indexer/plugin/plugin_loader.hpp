// Finds sink plugins by name in the search path (or takes an explicit path),
// loads them, and lists what is installed.
#pragma once

#include <indexer/plugin/sink_plugin.hpp>
#include <indexer/util/status.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::plugin {

// One plugin file found while listing: its info when it loaded, otherwise why not.
struct PluginListing {
    std::string name;  // from the file name indexer-sink-NAME.so
    std::filesystem::path path;
    std::optional<PluginInfo> info;
    std::string error;                  // set when it did not load
    std::filesystem::path shadowed_by;  // set when an earlier directory has the same name
    bool loaded() const noexcept { return info.has_value(); }
};

class PluginLoader {
public:
    explicit PluginLoader(std::vector<std::filesystem::path> search_path);

    const std::vector<std::filesystem::path>& search_path() const noexcept { return search_path_; }

    // `name_or_path` is a plugin name ("elasticsearch": the first
    // indexer-sink-elasticsearch.so in the search path) or a path (contains a
    // '/' or ends with ".so"). A broken plugin found first is an error, never
    // skipped in favour of a later one.
    Result<std::shared_ptr<const SinkPlugin>> load(std::string_view name_or_path) const;

    // Every indexer-sink-*.so in the search path, directory by directory,
    // sorted by name within each; each one loaded to report its info or error.
    std::vector<PluginListing> list() const;

    static bool is_explicit_path(std::string_view name_or_path) noexcept;
    static bool is_valid_name(std::string_view name) noexcept;
    // "indexer-sink-NAME.so"
    static std::string file_name_for(std::string_view name);

private:
    std::vector<std::filesystem::path> search_path_;
};

}  // namespace indexer::plugin
