#include <indexer/kafka/client_properties.hpp>

#include <gtest/gtest.h>

namespace indexer::kafka {
namespace {

ClientOptions options_with(std::map<std::string, std::string> properties) {
    return ClientOptions{"127.0.0.1:9092", "", std::move(properties)};
}

TEST(ConsumerProperties, ForcesManualOffsetHandlingAndTheGroup) {
    auto properties = consumer_properties(options_with({}), "products-es");
    ASSERT_TRUE(properties) << properties.error();
    EXPECT_EQ(properties->at("bootstrap.servers"), "127.0.0.1:9092");
    EXPECT_EQ(properties->at("group.id"), "products-es");
    EXPECT_EQ(properties->at("enable.auto.commit"), "false");
    EXPECT_EQ(properties->at("enable.auto.offset.store"), "false");
    EXPECT_EQ(properties->at("auto.offset.reset"), "earliest");
    EXPECT_EQ(properties->at("partition.assignment.strategy"), "range,roundrobin");
}

TEST(ConsumerProperties, PassesOtherPropertiesThroughAndLetsDefaultsBeChanged) {
    auto properties = consumer_properties(
        options_with(
            {{"session.timeout.ms", "6000"}, {"auto.offset.reset", "latest"}, {"security.protocol", "ssl"}}),
        "g");
    ASSERT_TRUE(properties) << properties.error();
    EXPECT_EQ(properties->at("session.timeout.ms"), "6000");
    EXPECT_EQ(properties->at("auto.offset.reset"), "latest");
    EXPECT_EQ(properties->at("security.protocol"), "ssl");
}

TEST(ConsumerProperties, RefusesToEnableAutoCommit) {
    auto properties = consumer_properties(options_with({{"enable.auto.commit", "true"}}), "g");
    ASSERT_FALSE(properties);
    EXPECT_NE(properties.error().find("\"enable.auto.commit\" cannot be set to \"true\""), std::string::npos)
        << properties.error();
    EXPECT_FALSE(consumer_properties(options_with({{"enable.auto.offset.store", "true"}}), "g"));
}

TEST(ConsumerProperties, AcceptsARepeatedForcedValue) {
    EXPECT_TRUE(consumer_properties(options_with({{"enable.auto.commit", "False"}, {"group.id", "g"}}), "g"));
}

TEST(ConsumerProperties, RefusesAnotherGroupId) {
    auto properties = consumer_properties(options_with({{"group.id", "other"}}), "g");
    ASSERT_FALSE(properties);
    EXPECT_NE(properties.error().find("\"group.id\""), std::string::npos) << properties.error();
}

TEST(ClientProperties, TakesTheBrokersFromTheBootstrapPropertyWhenNotGiven) {
    auto properties = consumer_properties(ClientOptions{"", "", {{"metadata.broker.list", "h:1"}}}, "g");
    ASSERT_TRUE(properties) << properties.error();
    EXPECT_EQ(properties->at("bootstrap.servers"), "h:1");
    EXPECT_EQ(properties->count("metadata.broker.list"), 0U);
}

TEST(ClientProperties, RefusesContradictingBrokers) {
    EXPECT_FALSE(producer_properties(options_with({{"bootstrap.servers", "other:1"}})));
    EXPECT_EQ(producer_properties(ClientOptions{}).error(), "kafka brokers are not set");
}

TEST(ClientProperties, SetsTheClientId) {
    auto properties = producer_properties(ClientOptions{"h:1", "indexer-1", {}});
    ASSERT_TRUE(properties) << properties.error();
    EXPECT_EQ(properties->at("client.id"), "indexer-1");
}

TEST(ProducerProperties, ForcesIdempotenceAndAcksAll) {
    auto properties =
        producer_properties(options_with({{"linger.ms", "20"}, {"request.required.acks", "-1"}}));
    ASSERT_TRUE(properties) << properties.error();
    EXPECT_EQ(properties->at("enable.idempotence"), "true");
    EXPECT_EQ(properties->at("acks"), "all");
    EXPECT_EQ(properties->count("request.required.acks"), 0U);
    EXPECT_EQ(properties->at("linger.ms"), "20");
}

TEST(ProducerProperties, RefusesWeakerAcknowledgement) {
    EXPECT_FALSE(producer_properties(options_with({{"acks", "1"}})));
    EXPECT_FALSE(producer_properties(options_with({{"enable.idempotence", "false"}})));
}

}  // namespace
}  // namespace indexer::kafka
