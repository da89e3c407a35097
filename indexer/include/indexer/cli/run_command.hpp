// `indexer run`: every pipeline and delayer of the configuration (or those
// selected by name) until SIGINT/SIGTERM.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace indexer::cli {

struct RunOptions {
    std::filesystem::path config_file;
    std::vector<std::string> pipelines;  // empty and no delayers named: every pipeline
    std::vector<std::string> delayers;   // empty and no pipelines named: every delayer
    std::vector<std::string> plugin_dirs;
};

// Returns the exit code (exit_codes.hpp).
int run_command(const RunOptions& options);

}  // namespace indexer::cli
