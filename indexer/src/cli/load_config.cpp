#include <indexer/cli/load_config.hpp>
#include <indexer/config/loader.hpp>
#include <indexer/config/redaction.hpp>

#include <algorithm>

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

Result<const config::PipelineConfig*> find_pipeline(const config::Config& config, const std::string& name) {
    const auto found = std::find_if(config.pipelines.begin(), config.pipelines.end(),
                                    [&](const config::PipelineConfig& p) { return p.name == name; });
    if (found != config.pipelines.end()) return &*found;
    std::string known;
    for (const auto& p : config.pipelines) known += (known.empty() ? "" : ", ") + p.name;
    return Status::error("no pipeline named \"" + name + "\" in " + config.origin +
                         " (pipelines: " + (known.empty() ? "none" : known) + ")");
}

}  // namespace indexer::cli
