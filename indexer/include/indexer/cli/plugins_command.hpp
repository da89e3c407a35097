// `indexer plugins`: lists the sink plugins found, with name, version and ABI.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace indexer::cli {

// Searches `extra_dirs` first, then the usual plugin search path. Returns the
// exit status: 0 when every plugin found loads, 1 otherwise.
int run_plugins_command(const std::vector<std::string>& extra_dirs, std::ostream& out);

}  // namespace indexer::cli
