#include "indexer/sinks/memcached/server_ring.hpp"

#include <libmemcached-1.0/memcached.h>

#include <stdexcept>
#include <string>

namespace indexer::memcached_sink {
namespace {

void check(memcached_st* memc, memcached_return_t rc, const std::string& what) {
    if (memcached_success(rc)) return;
    const std::string reason = memcached_last_error_message(memc) != nullptr
                                   ? memcached_last_error_message(memc)
                                   : memcached_strerror(memc, rc);
    memcached_free(memc);
    throw std::runtime_error(what + ": " + reason);
}

}  // namespace

ServerRing::ServerRing(const std::vector<ServerAddress>& servers, Distribution distribution) {
    memc_ = memcached_create(nullptr);
    if (memc_ == nullptr) throw std::runtime_error("libmemcached: out of memory");
    // The distribution is chosen before the servers are added: adding a
    // weighted server to a ketama ring switches libmemcached to weighted ketama.
    if (distribution == Distribution::KetamaWeighted) {
        check(memc_, memcached_behavior_set(memc_, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1), "ketama_weighted");
    } else {
        check(memc_,
              memcached_behavior_set(memc_, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                                     MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA),
              "ketama");
    }
    for (const ServerAddress& server : servers) {
        check(memc_, memcached_server_add_with_weight(memc_, server.host.c_str(), server.port, server.weight),
              "server " + server.display());
    }
    const std::uint32_t count = memcached_server_count(memc_);
    if (count != servers.size()) {
        memcached_free(memc_);
        throw std::runtime_error("libmemcached holds " + std::to_string(count) + " servers, expected " +
                                 std::to_string(servers.size()));
    }
    // libmemcached keeps insertion order unless told to sort; map positions
    // back to our indices anyway rather than rely on it.
    position_to_server_.resize(count);
    for (std::uint32_t position = 0; position < count; ++position) {
        const memcached_instance_st* instance = memcached_server_instance_by_position(memc_, position);
        const std::string name = memcached_server_name(instance);
        const in_port_t port = memcached_server_port(instance);
        bool found = false;
        for (std::size_t i = 0; i < servers.size() && !found; ++i) {
            if (servers[i].host == name && servers[i].port == port) {
                position_to_server_[position] = i;
                found = true;
            }
        }
        if (!found) {
            memcached_free(memc_);
            throw std::runtime_error("libmemcached lists an unknown server " + name);
        }
    }
}

ServerRing::~ServerRing() {
    memcached_free(memc_);
}

std::size_t ServerRing::server_for(std::string_view key) const {
    const std::uint32_t position = memcached_generate_hash(memc_, key.data(), key.size());
    return position_to_server_.at(position);
}

}  // namespace indexer::memcached_sink
