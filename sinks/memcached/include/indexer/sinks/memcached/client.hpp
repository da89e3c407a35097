// The memcached sink's client: builds each op's key, picks its server by
// consistent hashing, and writes the batch through the pipelined exchange.
// One client is used by one thread at a time (as a plugin handle is).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "indexer/sinks/memcached/config.hpp"
#include "indexer/sinks/memcached/exchange.hpp"
#include "indexer/sinks/memcached/key_builder.hpp"
#include "indexer/sinks/memcached/key_dump.hpp"
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

    // Reads the value stored under each id's key (in `target`'s namespace
    // when not empty) with pipelined gets, one per id, on the write
    // connections: results[i] is Ok with found/value, Reject when no key can
    // be built, or Retry. Bounded by `control` like a write.
    void read(std::span<const std::string_view> ids, std::string_view target, std::span<OpResult> results,
              const indexer::sdk::WriteControl& control = {});

    // One page of the listing of every key under the configured prefix (or
    // `target`, which replaces it as for writes; the same for every page),
    // server by server, from `lru_crawler metadump all`. The cursor is
    // "metadump:<server>:<listing>:<keys read>"; it continues the dump this
    // client holds open, so only this client can resume it. Keys mapped back
    // to ids are listed, hashed keys counted as unlisted, foreign keys skipped.
    void list(std::string_view cursor, std::string_view target, indexer::sdk::ListPage& page,
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
    // Sets request.key to the key of `id` and returns its server, or sets
    // `result` REJECT saying why no key can be built.
    std::optional<std::size_t> place(Request& request, std::string_view id, std::string_view target,
                                     OpResult& result) const;

    Config config_;
    KeyBuilder keys_;
    ServerRing ring_;
    std::vector<ServerChannel> channels_;
    std::vector<std::vector<Request>> requests_;  // per server, reused between calls

    // The dump a listing is reading, where it stands.
    struct Listing {
        std::uint64_t id = 0;
        std::size_t server = 0;
        std::uint64_t keys_read = 0;
        std::unique_ptr<KeyDump> dump;
    };
    std::optional<Listing> listing_;
    std::mt19937_64 listing_ids_;
};

}  // namespace indexer::memcached_sink
