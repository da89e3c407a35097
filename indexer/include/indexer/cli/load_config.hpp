// Reading the configuration for a command: errors printed, one per line.
#pragma once

#include <indexer/config/config.hpp>
#include <indexer/util/status.hpp>

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace indexer::cli {

// The configuration, or nothing after printing every error to `errors`. Its
// secrets become the process's (config::set_process_secrets).
std::optional<config::Config> load_config_or_report(const std::filesystem::path& file, std::ostream& errors);

// The pipeline called `name`; an unknown name is an error naming the file and
// the pipelines it has.
Result<const config::PipelineConfig*> find_pipeline(const config::Config& config, const std::string& name);

}  // namespace indexer::cli
