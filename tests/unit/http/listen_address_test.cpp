#include <indexer/http/http_server.hpp>

#include <gtest/gtest.h>

namespace indexer::http {
namespace {

TEST(ListenAddress, SplitsHostAndPort) {
    auto address = parse_listen_address("127.0.0.1:9464");
    ASSERT_TRUE(address) << address.error();
    EXPECT_EQ(address->first, "127.0.0.1");
    EXPECT_EQ(address->second, 9464);
}

TEST(ListenAddress, TakesTheBracketsOffAnIpv6Host) {
    auto address = parse_listen_address("[::1]:0");
    ASSERT_TRUE(address) << address.error();
    EXPECT_EQ(address->first, "::1");
    EXPECT_EQ(address->second, 0);
}

TEST(ListenAddress, RefusesWhatIsNotHostColonPort) {
    EXPECT_FALSE(parse_listen_address("9464"));
    EXPECT_FALSE(parse_listen_address(":9464"));
    EXPECT_FALSE(parse_listen_address("localhost:"));
    EXPECT_FALSE(parse_listen_address("localhost:70000"));
    EXPECT_FALSE(parse_listen_address("localhost:12ab"));
    EXPECT_FALSE(parse_listen_address("[::1:9464"));
}

}  // namespace
}  // namespace indexer::http
