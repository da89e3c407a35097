// memcached's ASCII protocol, the part this sink speaks: set, delete, get and
// version requests, what each reply means for the op that sent it, and the
// lines of `lru_crawler metadump`. Pure functions: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "indexer/sinks/memcached/op.hpp"

namespace indexer::memcached_sink {

enum class Command { Set, Delete, Version, Get };

// The key must satisfy key_problem(); the value is sent as is (binary safe).
void append_set(std::string& out, std::string_view key, std::uint32_t exptime, std::string_view value);
void append_delete(std::string& out, std::string_view key);
void append_version(std::string& out);
void append_get(std::string& out, std::string_view key);
// Lists every item of the server: one line per key, then END.
void append_metadump(std::string& out);

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

// Interprets a reply line to a set, delete or version request (never a get:
// its reply spans several lines, see parse_get_reply).
Interpretation interpret(Command command, const Reply& reply);

// The reply to `get <key>` at the start of `buffer`: "END" (no value), or
// "VALUE <key> <flags> <bytes>[ <cas>]", the value's bytes, "\r\n" and "END".
struct GetReply {
    enum class State {
        Incomplete,  // more bytes are needed; `needed` says how many in all when known
        Complete,    // `consumed` bytes were the whole reply; `result` says what it meant
    };
    State state = State::Incomplete;
    std::size_t needed = 0;
    std::size_t consumed = 0;
    // Ok with `found` and `value` (a slice of `buffer`), or the failure; the
    // stream is out of sync when `in_sync` is false.
    Outcome outcome = Outcome::Ok;
    bool found = false;
    std::string_view value;
    int native_code = 0;
    std::string message;
    bool in_sync = true;
};

// `max_value_bytes`: a header announcing more is refused (out of sync)
// rather than buffered. A reply line longer than `max_line_bytes` likewise.
GetReply parse_get_reply(std::string_view buffer, std::string_view key, std::size_t max_value_bytes,
                         std::size_t max_line_bytes);

// One line of `lru_crawler metadump`, without its line break.
struct MetadumpLine {
    enum class Kind {
        Key,     // `key` holds the item's key, decoded
        End,     // the dump is complete
        Busy,    // the crawler is busy with another request: try again later
        Error,   // the server refused (ERROR, CLIENT_ERROR, SERVER_ERROR...): `message`
        Invalid  // not a line of a dump: `message`
    };
    Kind kind = Kind::Invalid;
    std::string key;
    std::string message;
};

MetadumpLine parse_metadump_line(std::string_view line);

}  // namespace indexer::memcached_sink
