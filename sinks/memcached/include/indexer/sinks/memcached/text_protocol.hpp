// memcached's ASCII protocol, the part this sink speaks: set, delete and
// version requests, and what each reply line means for the op that sent it.
// Pure functions: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "indexer/sinks/memcached/op.hpp"

namespace indexer::memcached_sink {

enum class Command { Set, Delete, Version };

// The key must satisfy key_problem(); the value is sent as is (binary safe).
void append_set(std::string& out, std::string_view key, std::uint32_t exptime, std::string_view value);
void append_delete(std::string& out, std::string_view key);
void append_version(std::string& out);

// The 30-day boundary above which memcached reads an expiry time as a Unix
// timestamp instead of a number of seconds.
inline constexpr std::uint32_t kMaxRelativeExptime = 30 * 24 * 3600;

// What to send as exptime for a TTL at `now` (Unix seconds); 0 = no expiry.
std::uint32_t exptime_for(std::uint32_t ttl_seconds, std::int64_t now_unix);

enum class ReplyKind {
    Stored,
    NotStored,
    Exists,
    NotFound,
    Deleted,
    Version,
    Error,
    ClientError,
    ServerError,
    Unknown
};

struct Reply {
    ReplyKind kind = ReplyKind::Unknown;
    std::string_view line;  // the whole line, without "\r\n"
};

Reply parse_reply(std::string_view line);

struct Interpretation {
    OpResult result;
    // False when the reply stream can no longer be trusted (an ERROR, a
    // CLIENT_ERROR, a reply that does not fit the command): the connection is
    // dropped and the ops still waiting on it become RETRY.
    bool in_sync = true;
};

Interpretation interpret(Command command, const Reply& reply);

}  // namespace indexer::memcached_sink
