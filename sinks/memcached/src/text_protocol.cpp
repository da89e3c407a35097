#include "indexer/sinks/memcached/text_protocol.hpp"

#include <libmemcached-1.0/memcached.h>

namespace indexer::memcached_sink {
namespace {

bool starts_with(std::string_view line, std::string_view word) {
    return line.size() >= word.size() && line.compare(0, word.size(), word) == 0 &&
           (line.size() == word.size() || line[word.size()] == ' ');
}

Interpretation ok(memcached_return_t code = MEMCACHED_SUCCESS) {
    return {OpResult{Outcome::Ok, static_cast<int>(code), {}}, true};
}

Interpretation failure(Outcome outcome, memcached_return_t code, std::string message, bool in_sync) {
    return {OpResult{outcome, static_cast<int>(code), std::move(message)}, in_sync};
}

std::string quoted(std::string_view line) {
    std::string text = "\"";
    text.append(line.substr(0, 200));
    if (line.size() > 200) text.append("...");
    text.append("\"");
    return text;
}

const char* command_name(Command command) {
    switch (command) {
        case Command::Set:
            return "set";
        case Command::Delete:
            return "delete";
        case Command::Version:
            return "version";
        case Command::Get:
            return "get";
    }
    return "?";
}

// The next space-separated field of `text` from `position`; empty at the end.
std::string_view next_field(std::string_view text, std::size_t& position) {
    while (position < text.size() && text[position] == ' ') ++position;
    const std::size_t start = position;
    while (position < text.size() && text[position] != ' ') ++position;
    return text.substr(start, position - start);
}

// A decimal number below 2^64 without sign; false otherwise.
bool decimal(std::string_view text, std::uint64_t& number) {
    if (text.empty() || text.size() > 20) return false;
    number = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (number > (UINT64_MAX - digit) / 10) return false;
        number = number * 10 + digit;
    }
    return true;
}

GetReply get_failure(Outcome outcome, memcached_return_t code, std::string message, bool in_sync,
                     std::size_t consumed) {
    GetReply reply;
    reply.state = GetReply::State::Complete;
    reply.consumed = consumed;
    reply.outcome = outcome;
    reply.native_code = static_cast<int>(code);
    reply.message = std::move(message);
    reply.in_sync = in_sync;
    return reply;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

void append_set(std::string& out, std::string_view key, std::uint32_t exptime, std::string_view value) {
    out.append("set ");
    out.append(key);
    out.append(" 0 ");
    out.append(std::to_string(exptime));
    out.push_back(' ');
    out.append(std::to_string(value.size()));
    out.append("\r\n");
    out.append(value);
    out.append("\r\n");
}

void append_delete(std::string& out, std::string_view key) {
    out.append("delete ");
    out.append(key);
    out.append("\r\n");
}

void append_version(std::string& out) {
    out.append("version\r\n");
}

void append_get(std::string& out, std::string_view key) {
    out.append("get ");
    out.append(key);
    out.append("\r\n");
}

void append_metadump(std::string& out) {
    out.append("lru_crawler metadump all\r\n");
}

std::uint32_t exptime_for(std::uint32_t ttl_seconds, std::int64_t now_unix) {
    if (ttl_seconds <= kMaxRelativeExptime) return ttl_seconds;
    return static_cast<std::uint32_t>(now_unix + ttl_seconds);
}

Reply parse_reply(std::string_view line) {
    static constexpr std::pair<std::string_view, ReplyKind> kWords[] = {
        {"STORED", ReplyKind::Stored},
        {"NOT_STORED", ReplyKind::NotStored},
        {"EXISTS", ReplyKind::Exists},
        {"NOT_FOUND", ReplyKind::NotFound},
        {"DELETED", ReplyKind::Deleted},
        {"VERSION", ReplyKind::Version},
        {"ERROR", ReplyKind::Error},
        {"CLIENT_ERROR", ReplyKind::ClientError},
        {"SERVER_ERROR", ReplyKind::ServerError},
    };
    for (const auto& [word, kind] : kWords) {
        if (starts_with(line, word)) return Reply{kind, line};
    }
    return Reply{ReplyKind::Unknown, line};
}

Interpretation interpret(Command command, const Reply& reply) {
    switch (reply.kind) {
        case ReplyKind::ServerError: {
            // memcached swallows the value after a SERVER_ERROR: still in sync.
            if (reply.line.find("too large") != std::string_view::npos) {
                return failure(Outcome::Reject, MEMCACHED_E2BIG, std::string(reply.line), true);
            }
            if (reply.line.find("out of memory") != std::string_view::npos) {
                return failure(Outcome::Retry, MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE,
                               std::string(reply.line), true);
            }
            return failure(Outcome::Retry, MEMCACHED_SERVER_ERROR, std::string(reply.line), true);
        }
        case ReplyKind::ClientError:
            return failure(Outcome::Reject, MEMCACHED_CLIENT_ERROR,
                           "memcached refused the " + std::string(command_name(command)) +
                               " request: " + std::string(reply.line),
                           false);
        case ReplyKind::Error:
            return failure(
                Outcome::Reject, MEMCACHED_ERROR,
                "memcached did not understand the " + std::string(command_name(command)) + " request", false);
        default:
            break;
    }
    switch (command) {
        case Command::Set:
            if (reply.kind == ReplyKind::Stored) return ok();
            if (reply.kind == ReplyKind::NotStored) {
                return failure(Outcome::Retry, MEMCACHED_NOTSTORED, "NOT_STORED", true);
            }
            break;
        case Command::Delete:
            if (reply.kind == ReplyKind::Deleted) return ok();
            // Deleting what is absent is what the caller wanted.
            if (reply.kind == ReplyKind::NotFound) return ok(MEMCACHED_NOTFOUND);
            break;
        case Command::Version:
            if (reply.kind == ReplyKind::Version) return ok();
            break;
        case Command::Get:
            break;  // parse_get_reply reads get replies
    }
    return failure(Outcome::Retry, MEMCACHED_PROTOCOL_ERROR,
                   "unexpected reply " + quoted(reply.line) + " to " + command_name(command), false);
}

GetReply parse_get_reply(std::string_view buffer, std::string_view key, std::size_t max_value_bytes,
                         std::size_t max_line_bytes) {
    GetReply reply;
    const std::size_t line_end = buffer.find("\r\n");
    if (line_end == std::string_view::npos) {
        if (buffer.size() > max_line_bytes) {
            return get_failure(Outcome::Retry, MEMCACHED_PROTOCOL_ERROR,
                               "reply line longer than " + std::to_string(max_line_bytes) + " bytes", false,
                               0);
        }
        return reply;
    }
    const std::string_view line = buffer.substr(0, line_end);
    if (line == "END") {
        reply.state = GetReply::State::Complete;
        reply.consumed = line_end + 2;
        return reply;
    }
    const Reply parsed = parse_reply(line);
    if (parsed.kind == ReplyKind::ServerError) {
        return get_failure(Outcome::Retry, MEMCACHED_SERVER_ERROR, std::string(line), true, line_end + 2);
    }
    if (parsed.kind == ReplyKind::ClientError || parsed.kind == ReplyKind::Error) {
        return get_failure(Outcome::Reject,
                           parsed.kind == ReplyKind::Error ? MEMCACHED_ERROR : MEMCACHED_CLIENT_ERROR,
                           "memcached refused the get request: " + quoted(line), false, line_end + 2);
    }
    std::size_t position = 0;
    std::uint64_t flags = 0;
    std::uint64_t bytes = 0;
    std::uint64_t cas = 0;
    const bool header = next_field(line, position) == "VALUE" && next_field(line, position) == key &&
                        decimal(next_field(line, position), flags) &&
                        decimal(next_field(line, position), bytes);
    const std::string_view cas_field = next_field(line, position);
    if (!header || (!cas_field.empty() && !decimal(cas_field, cas)) || !next_field(line, position).empty()) {
        return get_failure(Outcome::Retry, MEMCACHED_PROTOCOL_ERROR,
                           "unexpected reply " + quoted(line) + " to get", false, line_end + 2);
    }
    if (bytes > max_value_bytes) {
        return get_failure(Outcome::Retry, MEMCACHED_PROTOCOL_ERROR,
                           "a value of " + std::to_string(bytes) + " bytes, more than the " +
                               std::to_string(max_value_bytes) + " this sink reads",
                           false, line_end + 2);
    }
    constexpr std::string_view kTail = "\r\nEND\r\n";
    const std::size_t data = line_end + 2;
    reply.needed = data + static_cast<std::size_t>(bytes) + kTail.size();
    if (buffer.size() < reply.needed) return reply;
    if (buffer.substr(data + bytes, kTail.size()) != kTail) {
        return get_failure(Outcome::Retry, MEMCACHED_PROTOCOL_ERROR,
                           "the value of a get reply does not end where its header says", false,
                           reply.needed);
    }
    reply.state = GetReply::State::Complete;
    reply.consumed = reply.needed;
    reply.found = true;
    reply.value = buffer.substr(data, static_cast<std::size_t>(bytes));
    return reply;
}

MetadumpLine parse_metadump_line(std::string_view line) {
    MetadumpLine out;
    if (line == "END") {
        out.kind = MetadumpLine::Kind::End;
        return out;
    }
    if (line.substr(0, 4) == "BUSY") {
        out.kind = MetadumpLine::Kind::Busy;
        out.message = "the LRU crawler is busy: " + quoted(line);
        return out;
    }
    const Reply reply = parse_reply(line);
    if (reply.kind == ReplyKind::Error || reply.kind == ReplyKind::ClientError ||
        reply.kind == ReplyKind::ServerError) {
        out.kind = MetadumpLine::Kind::Error;
        out.message = "memcached refused lru_crawler metadump: " + quoted(line);
        return out;
    }
    std::size_t position = 0;
    const std::string_view field = next_field(line, position);
    if (field.substr(0, 4) != "key=" || field.size() == 4) {
        out.message = "not a line of a metadump: " + quoted(line);
        return out;
    }
    // The key is URI-encoded: %XX for every byte but [A-Za-z0-9._~-].
    const std::string_view encoded = field.substr(4);
    out.key.reserve(encoded.size());
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        if (encoded[i] != '%') {
            out.key.push_back(encoded[i]);
            continue;
        }
        const int high = i + 2 < encoded.size() ? hex_value(encoded[i + 1]) : -1;
        const int low = high >= 0 ? hex_value(encoded[i + 2]) : -1;
        if (low < 0) {
            out.key.clear();
            out.message = "a malformed %-escape in a metadump key: " + quoted(line);
            return out;
        }
        out.key.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    out.kind = MetadumpLine::Kind::Key;
    return out;
}

}  // namespace indexer::memcached_sink
