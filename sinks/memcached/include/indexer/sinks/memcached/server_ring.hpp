// Which server holds a key: libmemcached's own consistent hashing (ketama),
// so that any libmemcached client configured with the same server list and
// distribution finds what this sink wrote. No I/O happens here.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "indexer/sinks/memcached/config.hpp"

struct memcached_st;

namespace indexer::memcached_sink {

class ServerRing {
public:
    // Throws std::runtime_error when libmemcached refuses the server list.
    ServerRing(const std::vector<ServerAddress>& servers, Distribution distribution);
    ~ServerRing();
    ServerRing(const ServerRing&) = delete;
    ServerRing& operator=(const ServerRing&) = delete;

    // The index (into the configured server list) of the server for `key`.
    std::size_t server_for(std::string_view key) const;
    std::size_t size() const noexcept { return position_to_server_.size(); }

private:
    memcached_st* memc_ = nullptr;
    std::vector<std::size_t> position_to_server_;
};

}  // namespace indexer::memcached_sink
