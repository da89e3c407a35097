// Reading a configuration file: parse (YAML, or JSON which is YAML), then
// interpolate ${VAR} in scalar values, check every key against its
// declaration, and return the typed Config or every error found. Each error is
// one line, "<origin>:<line>:<column>: <key path>: <what is wrong>", e.g.
//   demo.yaml:12:7: pipelines[1].batch.max_messages: expected an integer between 1 and 100000, got "lots"
#pragma once

#include <indexer/config/config.hpp>
#include <indexer/config/interpolation.hpp>
#include <indexer/util/status.hpp>

#include <filesystem>
#include <string_view>

namespace indexer::config {

// Reads and checks a file. Relative paths in it (plugins.paths, a sink plugin
// given by path) are resolved against the file's directory.
Result<Config> load_config(const std::filesystem::path& file,
                           const EnvironmentLookup& environment = process_environment());

// Checks configuration text; `origin` names it in errors. Relative paths in it
// are resolved against `base_directory` when one is given, else kept as written.
Result<Config> parse_config(std::string_view text, std::string_view origin,
                            const EnvironmentLookup& environment = process_environment(),
                            const std::filesystem::path& base_directory = {});

}  // namespace indexer::config
