// The configuration reference, rendered from the key declarations so that it
// cannot drift from what the loader accepts. docs/configuration.md holds its
// output; a unit test fails when that file is stale.
#pragma once

#include <string>

namespace indexer::config {

// The whole reference as Markdown: file format, interpolation, value types,
// then every key (type, whether required, default, description) and every rule
// across keys.
std::string configuration_reference_markdown();

}  // namespace indexer::config
