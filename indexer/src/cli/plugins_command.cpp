#include <indexer/cli/plugins_command.hpp>
#include <indexer/plugin/plugin_loader.hpp>
#include <indexer/plugin/plugin_search_path.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace indexer::cli {

int run_plugins_command(const std::vector<std::string>& extra_dirs, std::ostream& out) {
    const plugin::PluginLoader loader(plugin::plugin_search_path(extra_dirs));

    out << "Plugin search path (first match wins):\n";
    for (const auto& dir : loader.search_path()) {
        std::error_code ec;
        out << "  " << dir.string() << (std::filesystem::is_directory(dir, ec) ? "" : "  (missing)") << '\n';
    }

    const std::vector<plugin::PluginListing> listings = loader.list();
    if (listings.empty()) {
        out << "\nNo sink plugin (indexer-sink-NAME.so) found.\n";
        return 0;
    }
    std::size_t name_width = 4;
    std::size_t version_width = 7;
    for (const auto& listing : listings) {
        name_width = std::max(name_width, listing.name.size());
        if (listing.info) version_width = std::max(version_width, listing.info->version.size());
    }
    out << '\n'
        << fmt::format("{:<{}}  {:<{}}  {:<5}  {}\n", "NAME", name_width, "VERSION", version_width, "ABI",
                       "PATH");
    bool all_loaded = true;
    for (const auto& listing : listings) {
        if (listing.info) {
            out << fmt::format("{:<{}}  {:<{}}  {:<5}  {}", listing.name, name_width, listing.info->version,
                               version_width,
                               fmt::format("{}.{}", listing.info->abi_major, listing.info->abi_minor),
                               listing.path.string());
        } else {
            all_loaded = false;
            // The path is on the line above already.
            std::string_view error = listing.error;
            const std::string prefix = listing.path.string() + ": ";
            if (error.starts_with(prefix)) error.remove_prefix(prefix.size());
            out << fmt::format("{:<{}}  {:<{}}  {:<5}  {}\n{:<{}}  error: {}", listing.name, name_width, "-",
                               version_width, "-", listing.path.string(), "", name_width, error);
        }
        if (!listing.shadowed_by.empty()) out << "  (shadowed by " << listing.shadowed_by.string() << ")";
        out << '\n';
    }
    return all_loaded ? 0 : 1;
}

}  // namespace indexer::cli
