// The process's logging: one line per event on stderr, human-readable on a
// terminal and JSON otherwise (or as configured).
#pragma once

#include <indexer/config/config.hpp>

namespace indexer::log {

// Installs the default logger. `auto` picks text for a terminal, else JSON.
void setup(const config::LoggingConfig& logging);

// Before a configuration is read: text at info level.
void setup_defaults();

}  // namespace indexer::log
