// The pipelined exchange: every server gets its requests written back to back
// on its one connection while the replies are read as they come, all servers
// at once, in one poll() loop. memcached answers each request of a connection
// in order, so the n-th reply line belongs to the n-th request: every op's
// outcome is observed without a round trip per op.
#pragma once

#include <indexer/sink.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "indexer/sinks/memcached/connection.hpp"
#include "indexer/sinks/memcached/op.hpp"
#include "indexer/sinks/memcached/text_protocol.hpp"

namespace indexer::memcached_sink {

using Clock = std::chrono::steady_clock;

struct Request {
    Command command = Command::Set;
    std::string key;         // Set, Delete, Get
    std::string_view value;  // Set only; owned by the caller for the exchange
    std::uint32_t exptime = 0;
    std::size_t result_index = 0;
};

// What the client keeps about a server between calls.
struct ServerChannel {
    explicit ServerChannel(ServerAddress address) : connection(std::move(address)) {}
    Connection connection;
    Clock::time_point down_until{};  // not contacted before this (after a failure)
    std::string down_reason;
};

struct ExchangeOptions {
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds io_timeout{5000};
    std::chrono::milliseconds dead_server_retry{2000};
    // Contact servers even while they are marked down (health probes).
    bool contact_down_servers = false;
    // The caller's deadline and stop; NULL = neither. When it says to return,
    // every request still unanswered is RETRY saying why, and its connection
    // is closed (the server is not marked down: it did nothing wrong).
    const indexer::sdk::WriteControl* control = nullptr;
    // The longest value a get reply may carry (a longer one is a protocol error).
    std::size_t max_value_bytes = std::size_t{1} << 30;
    // How an interrupted request's message starts.
    std::string_view unfinished = "not written";
};

// requests[s] goes to channels[s]. Sets results[r.result_index] for every
// request r, and leaves every other result alone.
void run_exchange(std::vector<ServerChannel>& channels, const std::vector<std::vector<Request>>& requests,
                  std::span<OpResult> results, const ExchangeOptions& options);

}  // namespace indexer::memcached_sink
