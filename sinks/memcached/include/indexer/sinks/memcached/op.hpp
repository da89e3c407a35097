// The sink's view of an op and its result, independent of the plugin ABI so
// that the core can be tested on its own; plugin/ translates to and from it.
#pragma once

#include <string>
#include <string_view>
#include <utility>

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
    OpResult() = default;
    OpResult(Outcome outcome_, int native_code_, std::string message_)
        : outcome(outcome_), native_code(native_code_), message(std::move(message_)) {}

    Outcome outcome = Outcome::Retry;
    int native_code = 0;  // a memcached_return_t
    std::string message;  // why, for Retry and Reject
    // Get only, with Outcome::Ok: whether the key holds a value, and the value.
    bool found = false;
    std::string value;
};

}  // namespace indexer::memcached_sink
