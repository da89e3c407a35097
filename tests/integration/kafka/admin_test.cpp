#include "kafka_fixture.hpp"

#include <indexer/kafka/admin.hpp>

#include <gtest/gtest.h>

namespace indexer::kafka {
namespace {

using indexer::testing::kafka_client;
using namespace std::chrono_literals;

TEST(KafkaAdmin, ProbeReachesTheBroker) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    auto admin = Admin::create(kafka_client(brokers));
    ASSERT_TRUE(admin) << admin.error();
    auto info = admin.value()->probe(10s);
    ASSERT_TRUE(info) << info.error();
    EXPECT_GE(info->broker_count, 1);
}

TEST(KafkaAdmin, ProbeFailsWhenNoBrokerListens) {
    // Port 1 on loopback: nothing listens there.
    auto admin = Admin::create(kafka_client("127.0.0.1:1"));
    ASSERT_TRUE(admin) << admin.error();
    auto info = admin.value()->probe(2s);
    ASSERT_FALSE(info);
    EXPECT_NE(info.error().find("no metadata"), std::string::npos) << info.error();
}

TEST(KafkaAdmin, MissingTopicHasNoPartitionCountAndIsNotCreatedByAsking) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    auto admin = Admin::create(kafka_client(brokers));
    ASSERT_TRUE(admin) << admin.error();
    const std::string topic = indexer::testing::unique_name("missing");
    for (int i = 0; i < 2; ++i) {
        auto count = admin.value()->partition_count(topic, 10s);
        ASSERT_TRUE(count) << count.error();
        EXPECT_FALSE(count.value());
    }
}

TEST(KafkaAdmin, CreatedTopicHasItsPartitionsWithEmptyWatermarks) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    auto admin = Admin::create(kafka_client(brokers));
    ASSERT_TRUE(admin) << admin.error();
    const std::string topic = indexer::testing::unique_name("created");
    const Status created = admin.value()->create_topic(topic, 3, 30s);
    ASSERT_TRUE(created) << created.message();
    auto count = admin.value()->partition_count(topic, 10s);
    ASSERT_TRUE(count) << count.error();
    EXPECT_EQ(count.value(), 3);
    auto offsets = admin.value()->offsets(topic, indexer::testing::unique_name("g"), 10s);
    ASSERT_TRUE(offsets) << offsets.error();
    ASSERT_EQ(offsets->size(), 3U);
    for (const auto& partition : offsets.value()) {
        EXPECT_EQ(partition.high, 0);
        EXPECT_FALSE(partition.committed);
        EXPECT_EQ(partition.lag(), 0);
    }
    const Status again = admin.value()->create_topic(topic, 3, 10s);
    EXPECT_FALSE(again);
}

}  // namespace
}  // namespace indexer::kafka
