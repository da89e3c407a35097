// The memcached sink's client: builds each op's key, picks its server by
// consistent hashing, and writes the batch through the pipelined exchange.
// One client is used by one thread at a time (as a plugin handle is).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "indexer/sinks/memcached/config.hpp"
#include "indexer/sinks/memcached/exchange.hpp"
#include "indexer/sinks/memcached/key_builder.hpp"
#include "indexer/sinks/memcached/op.hpp"
#include "indexer/sinks/memcached/server_ring.hpp"

namespace indexer::memcached_sink {

class Client {
public:
    // No I/O: connections are made by the first write or health check.
    explicit Client(Config config);

    // Sets results[i] for every ops[i]; results.size() == ops.size().
    // Returns by control's deadline, or within about 50 ms of its stop, with
    // the ops not answered yet RETRY saying why.
    void write(std::span<const WriteOp> ops, std::span<OpResult> results,
               const indexer::sdk::WriteControl& control = {});

    // Asks every server for its version. Nothing when all answered, otherwise
    // one line naming each server that did not.
    std::optional<std::string> health();

    // The key ops[i] would be written under (for tests and diagnostics).
    std::optional<BuiltKey> key_for(std::string_view id, std::string_view target, std::string& error) const {
        return keys_.build(id, target, error);
    }
    // The index of the server `key` lives on (key as returned by key_for).
    std::size_t server_for(const BuiltKey& key) const;

    const Config& config() const noexcept { return config_; }

private:
    ExchangeOptions exchange_options(bool contact_down_servers) const;

    Config config_;
    KeyBuilder keys_;
    ServerRing ring_;
    std::vector<ServerChannel> channels_;
    std::vector<std::vector<Request>> requests_;  // per server, reused between calls
};

}  // namespace indexer::memcached_sink
