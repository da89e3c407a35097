// The sink's view of an op and its result, independent of the plugin ABI so
// that the core can be tested on its own; plugin/ translates to and from it.
#pragma once

#include <string>
#include <string_view>

namespace indexer::memcached_sink {

enum class OpKind { Upsert, Delete };

// Views into memory the caller owns for the duration of the write call.
struct WriteOp {
    OpKind kind = OpKind::Upsert;
    std::string_view id;
    std::string_view document;  // the value stored, verbatim (UPSERT)
    std::string_view target;    // replaces the configured prefix when not empty
};

enum class Outcome { Ok, Retry, Reject };

struct OpResult {
    Outcome outcome = Outcome::Retry;
    int native_code = 0;  // a memcached_return_t
    std::string message;  // why, for Retry and Reject
};

}  // namespace indexer::memcached_sink
