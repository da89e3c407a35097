// `indexer check-config`: validates the configuration, then probes Kafka,
// PostgreSQL (each pipeline's query is prepared) and every sink (loaded,
// opened, asked for its health). One line per check.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace indexer::cli {

// Returns the exit code: 0 all good, 1 a check failed, 2 invalid configuration.
int check_config_command(const std::filesystem::path& config_file,
                         const std::vector<std::string>& plugin_dirs, std::ostream& out);

}  // namespace indexer::cli
