#include <indexer/cli/load_config.hpp>
#include <indexer/config/loader.hpp>
#include <indexer/config/redaction.hpp>

namespace indexer::cli {

std::optional<config::Config> load_config_or_report(const std::filesystem::path& file, std::ostream& errors) {
    auto loaded = config::load_config(file);
    if (!loaded) {
        errors << "indexer: invalid configuration:\n" << loaded.error() << '\n';
        return std::nullopt;
    }
    // From here on every error text of a client library is shown without them.
    config::set_process_secrets(config::secrets_of(loaded.value()));
    return std::move(loaded.value());
}

}  // namespace indexer::cli
