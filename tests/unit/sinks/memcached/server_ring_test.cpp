#include "indexer/sinks/memcached/server_ring.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace indexer::memcached_sink {
namespace {

std::vector<ServerAddress> servers(std::initializer_list<std::uint32_t> weights) {
    std::vector<ServerAddress> list;
    std::uint16_t port = 11211;
    for (const std::uint32_t weight : weights) list.push_back(ServerAddress{"10.0.0.1", port++, weight});
    return list;
}

std::vector<std::size_t> placement(const ServerRing& ring, int keys) {
    std::vector<std::size_t> where;
    for (int i = 0; i < keys; ++i) where.push_back(ring.server_for("product:" + std::to_string(i)));
    return where;
}

TEST(ServerRing, OneServerHoldsEveryKey) {
    const ServerRing ring(servers({1}), Distribution::Ketama);
    for (const std::size_t server : placement(ring, 100)) EXPECT_EQ(server, 0U);
}

TEST(ServerRing, SpreadsKeysOverEveryServer) {
    const ServerRing ring(servers({1, 1, 1}), Distribution::Ketama);
    std::vector<int> counts(3, 0);
    for (const std::size_t server : placement(ring, 3000)) ++counts.at(server);
    for (const int count : counts) EXPECT_GT(count, 500) << "a server got too few of 3000 keys";
}

TEST(ServerRing, RemovingAServerMovesOnlyItsKeys) {
    const ServerRing three(servers({1, 1, 1}), Distribution::Ketama);
    auto two_servers = servers({1, 1, 1});
    two_servers.pop_back();
    const ServerRing two(two_servers, Distribution::Ketama);
    const auto before = placement(three, 3000);
    const auto after = placement(two, 3000);
    for (std::size_t i = 0; i < before.size(); ++i) {
        if (before[i] != 2) {
            EXPECT_EQ(after[i], before[i]) << "key " << i << " moved between surviving servers";
        }
    }
}

TEST(ServerRing, WeightsShiftTheShareOfKeys) {
    const ServerRing ring(servers({1, 3}), Distribution::KetamaWeighted);
    std::vector<int> counts(2, 0);
    for (const std::size_t server : placement(ring, 4000)) ++counts.at(server);
    EXPECT_GT(counts[1], 2 * counts[0]);
}

}  // namespace
}  // namespace indexer::memcached_sink
