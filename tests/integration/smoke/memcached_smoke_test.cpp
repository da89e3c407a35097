// Proves memcached from C++: set, get, delete with libmemcached.
#include "support/test_services.hpp"

#include <libmemcached/memcached.h>

#include <cstdlib>
#include <memory>

namespace {

TEST(MemcachedSmoke, SetGetAndDeleteRoundTrip) {
    INDEXER_REQUIRE_SERVICE(server, "INDEXER_TEST_MEMCACHED");
    const std::string options = "--SERVER=" + server;
    std::unique_ptr<memcached_st, decltype(&memcached_free)> client(
        memcached(options.c_str(), options.size()), &memcached_free);
    ASSERT_TRUE(client);
    const std::string key = indexer::testing::unique_name("smoke");
    const std::string value = R"({"id":1,"name":"ключ"})";

    ASSERT_EQ(memcached_set(client.get(), key.data(), key.size(), value.data(), value.size(), 0, 0),
              MEMCACHED_SUCCESS)
        << memcached_last_error_message(client.get());

    size_t length = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    std::unique_ptr<char, decltype(&std::free)> got(
        memcached_get(client.get(), key.data(), key.size(), &length, &flags, &rc), &std::free);
    ASSERT_EQ(rc, MEMCACHED_SUCCESS) << memcached_strerror(client.get(), rc);
    EXPECT_EQ(std::string(got.get(), length), value);

    ASSERT_EQ(memcached_delete(client.get(), key.data(), key.size(), 0), MEMCACHED_SUCCESS);
    got.reset(memcached_get(client.get(), key.data(), key.size(), &length, &flags, &rc));
    EXPECT_EQ(rc, MEMCACHED_NOTFOUND);
}

}  // namespace
