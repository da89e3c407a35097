#include <indexer/plugin/plugin_loader.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <system_error>
#include <utility>

namespace indexer::plugin {
namespace {

constexpr std::string_view kFilePrefix = "indexer-sink-";
constexpr std::string_view kFileSuffix = ".so";

// The NAME of indexer-sink-NAME.so, or "" for any other file name.
std::string name_from_file(const std::string& file_name) {
    if (file_name.size() <= kFilePrefix.size() + kFileSuffix.size()) return {};
    if (!file_name.starts_with(kFilePrefix) || !file_name.ends_with(kFileSuffix)) return {};
    return file_name.substr(kFilePrefix.size(), file_name.size() - kFilePrefix.size() - kFileSuffix.size());
}

bool is_file(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

std::string joined(const std::vector<std::filesystem::path>& dirs) {
    std::string text;
    for (const auto& dir : dirs) {
        if (!text.empty()) text += ", ";
        text += dir.string();
    }
    return text.empty() ? "no directory" : text;
}

}  // namespace

PluginLoader::PluginLoader(std::vector<std::filesystem::path> search_path)
    : search_path_(std::move(search_path)) {}

bool PluginLoader::is_explicit_path(std::string_view name_or_path) noexcept {
    return name_or_path.find('/') != std::string_view::npos || name_or_path.ends_with(kFileSuffix);
}

bool PluginLoader::is_valid_name(std::string_view name) noexcept {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::string PluginLoader::file_name_for(std::string_view name) {
    return fmt::format("{}{}{}", kFilePrefix, name, kFileSuffix);
}

Result<std::shared_ptr<const SinkPlugin>> PluginLoader::load(std::string_view name_or_path) const {
    if (is_explicit_path(name_or_path)) return SinkPlugin::load(std::filesystem::path(name_or_path));
    if (!is_valid_name(name_or_path)) {
        return Status::error(fmt::format(
            "'{}' is neither a sink plugin name ([a-z0-9_-]+) nor a path to a .so file", name_or_path));
    }
    const std::string file_name = file_name_for(name_or_path);
    for (const auto& dir : search_path_) {
        const std::filesystem::path candidate = dir / file_name;
        if (!is_file(candidate)) continue;
        auto plugin = SinkPlugin::load(candidate);
        if (!plugin) return plugin;
        if ((*plugin)->name() != name_or_path) {
            return Status::error(
                fmt::format("{}: indexer_sink_info.plugin_name is \"{}\", expected \"{}\" (the "
                            "name in the file name)",
                            candidate.string(), (*plugin)->name(), name_or_path));
        }
        return plugin;
    }
    return Status::error(
        fmt::format("sink plugin '{}' not found: no {} in {} (add a directory to {} or the "
                    "configuration, or give the plugin's path)",
                    name_or_path, file_name, joined(search_path_), "INDEXER_PLUGIN_PATH"));
}

std::vector<PluginListing> PluginLoader::list() const {
    std::vector<PluginListing> listings;
    std::map<std::string, std::filesystem::path> first_of_name;
    for (const auto& dir : search_path_) {
        std::error_code ec;
        std::vector<std::pair<std::string, std::filesystem::path>> found;
        // A missing or unreadable directory simply holds no plugin.
        for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            std::string name = name_from_file(it->path().filename().string());
            if (!name.empty() && is_file(it->path())) found.emplace_back(std::move(name), it->path());
        }
        std::sort(found.begin(), found.end());
        for (auto& [name, path] : found) {
            PluginListing listing;
            listing.name = name;
            listing.path = path;
            if (auto [it, inserted] = first_of_name.emplace(name, path); !inserted) {
                listing.shadowed_by = it->second;
            }
            auto plugin = SinkPlugin::load(path);
            if (!plugin) {
                listing.error = plugin.error();
            } else if ((*plugin)->name() != name) {
                listing.error = fmt::format(
                    "{}: indexer_sink_info.plugin_name is \"{}\", expected \"{}\" (the name "
                    "in the file name)",
                    path.string(), (*plugin)->name(), name);
            } else {
                listing.info = (*plugin)->info();
            }
            listings.push_back(std::move(listing));
        }
    }
    return listings;
}

}  // namespace indexer::plugin
