// Errors that say the index cannot take writes at all, whatever the document:
// every op sent to it fails alike until an operator acts (lifts a block, opens
// or creates the index, gives the alias a write index, grants a privilege).
// Such an op is RETRY, which pauses the pipeline, and not REJECT, which would
// dead-letter the whole stream. Pure: classified by the error's `type`, and by
// its `reason` where one type covers both an index and a document problem
// (`illegal_argument_exception`).
#pragma once

#include <optional>
#include <string_view>

namespace indexer::sinks::elasticsearch {

// What the operator has to do, for the op's message, or nothing when the error
// is about the document (or unknown: the engine's guard against many rejects
// of one reason covers what this list misses).
std::optional<std::string_view> index_condition(std::string_view type, std::string_view reason);

}  // namespace indexer::sinks::elasticsearch
