// Reading the configuration for a command: errors printed, one per line.
#pragma once

#include <indexer/config/config.hpp>

#include <filesystem>
#include <optional>
#include <ostream>

namespace indexer::cli {

// The configuration, or nothing after printing every error to `errors`. Its
// secrets become the process's (config::set_process_secrets).
std::optional<config::Config> load_config_or_report(const std::filesystem::path& file, std::ostream& errors);

}  // namespace indexer::cli
