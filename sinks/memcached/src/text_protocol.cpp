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
    }
    return "?";
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
    }
    return failure(Outcome::Retry, MEMCACHED_PROTOCOL_ERROR,
                   "unexpected reply " + quoted(reply.line) + " to " + command_name(command), false);
}

}  // namespace indexer::memcached_sink
