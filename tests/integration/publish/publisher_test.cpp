// The C++ client library against a real broker: what an application's
// announce() and bulk() put on the topics, and in which order.
#include <indexer/client/publisher.hpp>

#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <stdexcept>

namespace indexer::testing {
namespace {

using client::Id;
using client::Publisher;
using client::PublisherOptions;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kReadTimeout = 30s;
// How long a test waits to see that nothing arrives.
constexpr auto kQuietPeriod = 3s;

// Topic and delay topic of a fresh test, created with 3 partitions each.
PublisherOptions fresh_topics(const std::string& brokers) {
    PublisherOptions options;
    options.brokers = brokers;
    options.topic = unique_name("publish");
    create_topic(brokers, options.topic, 3);
    create_topic(brokers, options.topic + "-delay", 3);
    return options;
}

// Message values by key.
std::map<std::string, json> by_key(const std::vector<ReadMessage>& messages) {
    std::map<std::string, json> values;
    for (const auto& message : messages) {
        values[message.key.value_or("<null>")] = json::parse(message.value.value_or("null"));
    }
    return values;
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

TEST(Publisher, AnnounceSendsTheDelayAndTheInstantMessageOfEachIdKeyedByTheId) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const PublisherOptions options = fresh_topics(brokers);
    Publisher publisher(options);
    ASSERT_EQ(publisher.delay_topic(), options.topic + "-delay");

    const std::int64_t before = now_seconds();
    const auto report = publisher.announce({42, "sku-\"1\"", "ünï"});
    const std::int64_t after = now_seconds();

    EXPECT_TRUE(report.ok());
    EXPECT_EQ(report.delay.sent, 3u);
    EXPECT_EQ(report.instant.sent, 3u);
    const auto instant = by_key(read_topic(brokers, options.topic, 3, kReadTimeout));
    EXPECT_EQ(instant, (std::map<std::string, json>{{"42", json::parse(R"({"id": 42})")},
                                                    {"sku-\"1\"", json::parse(R"({"id": "sku-\"1\""})")},
                                                    {"ünï", json::parse(R"({"id": "ünï"})")}}));
    const auto delay = by_key(read_topic(brokers, options.topic + "-delay", 3, kReadTimeout));
    ASSERT_EQ(delay.size(), 3u);
    EXPECT_EQ(delay.at("42")["payload"], json::parse(R"({"id": 42})"));
    EXPECT_EQ(delay.at("sku-\"1\"")["payload"], json::parse(R"({"id": "sku-\"1\""})"));
    for (const auto& [key, value] : delay) {
        ASSERT_TRUE(value["created_at"].is_number_integer()) << value;
        EXPECT_GE(value["created_at"].get<std::int64_t>(), before);
        EXPECT_LE(value["created_at"].get<std::int64_t>(), after);
    }
}

TEST(Publisher, SendsTheIdInTheConfiguredFieldToTheConfiguredDelayTopic) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    PublisherOptions options = fresh_topics(brokers);
    options.delay_topic = options.topic + "-later";
    options.id_field = "sku";
    create_topic(brokers, options.delay_topic, 1);
    Publisher publisher(options);

    EXPECT_TRUE(publisher.announce({"a-1"}).ok());

    const auto instant = read_topic(brokers, options.topic, 1, kReadTimeout);
    ASSERT_EQ(instant.size(), 1u);
    EXPECT_EQ(json::parse(*instant[0].value), json::parse(R"({"sku": "a-1"})"));
    const auto delay = read_topic(brokers, options.delay_topic, 1, kReadTimeout);
    ASSERT_EQ(delay.size(), 1u);
    EXPECT_EQ(json::parse(*delay[0].value)["payload"], json::parse(R"({"sku": "a-1"})"));
}

TEST(Publisher, BulkHasTheDelayMessagesAcknowledgedBeforeTheUpdateAndSendsInstantMessagesAfterIt) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const PublisherOptions options = fresh_topics(brokers);
    Publisher publisher(options);
    std::vector<Id> ids;
    for (int id = 1; id <= 50; ++id) ids.emplace_back(id);

    std::size_t delay_seen_by_update = 0;
    std::size_t instant_seen_by_update = 0;
    const auto report = publisher.bulk(ids, [&] {
        // What another process sees on the broker while the update runs.
        delay_seen_by_update = read_topic(brokers, publisher.delay_topic(), 50, kReadTimeout).size();
        instant_seen_by_update = read_topic(brokers, options.topic, 1, kQuietPeriod).size();
    });

    EXPECT_EQ(delay_seen_by_update, 50u);
    EXPECT_EQ(instant_seen_by_update, 0u);
    EXPECT_TRUE(report.ok());
    EXPECT_EQ(report.delay.sent, 50u);
    EXPECT_EQ(report.instant.sent, 50u);
    EXPECT_EQ(read_topic(brokers, options.topic, 50, kReadTimeout).size(), 50u);
}

TEST(Publisher, BulkSendsNoInstantMessageWhenTheUpdateThrows) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const PublisherOptions options = fresh_topics(brokers);
    Publisher publisher(options);

    EXPECT_THROW(publisher.bulk({1, 2, 3}, [] { throw std::runtime_error("the transaction rolled back"); }),
                 std::runtime_error);

    EXPECT_EQ(read_topic(brokers, publisher.delay_topic(), 3, kReadTimeout).size(), 3u);
    EXPECT_EQ(read_topic(brokers, options.topic, 1, kQuietPeriod).size(), 0u);
}

TEST(Publisher, BulkDoesNotRunTheUpdateWhenTheDelayMessagesAreNotAcknowledged) {
    PublisherOptions options;
    options.brokers = "127.0.0.1:1";  // nothing listens there
    options.topic = "products";
    options.timeout = 1s;
    Publisher publisher(options);
    bool updated = false;

    try {
        publisher.bulk({7, 8}, [&] { updated = true; });
        FAIL() << "bulk() returned";
    } catch (const client::PublishError& error) {
        EXPECT_THAT(error.what(), ::testing::HasSubstr("the update was not run"));
        EXPECT_EQ(error.report().sent, 0u);
        ASSERT_EQ(error.report().failed.size(), 2u);
        EXPECT_EQ(error.report().failed[0].topic, "products-delay");
        EXPECT_EQ(error.report().failed[0].reason, "Local: Message timed out");
    }
    EXPECT_FALSE(updated);
}

TEST(Publisher, ReportsAnIdThatIsNotUtf8AsFailedAndSendsTheOthers) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const PublisherOptions options = fresh_topics(brokers);
    Publisher publisher(options);

    const auto report = publisher.send_instant({"ok", "bad\xff"});

    EXPECT_FALSE(report.ok());
    EXPECT_EQ(report.sent, 1u);
    ASSERT_EQ(report.failed.size(), 1u);
    EXPECT_EQ(report.failed[0].id, "bad\xff");
    EXPECT_EQ(report.failed[0].topic, options.topic);
    EXPECT_EQ(report.failed[0].reason, "id is not valid UTF-8");
    const auto instant = read_topic(brokers, options.topic, 2, kQuietPeriod);
    ASSERT_EQ(instant.size(), 1u);
    EXPECT_EQ(instant[0].key, "ok");
}

TEST(Publisher, RefusesOptionsWithoutATopic) {
    PublisherOptions options;
    options.brokers = "127.0.0.1:9092";
    EXPECT_THROW(Publisher{options}, client::PublishError);
}

}  // namespace
}  // namespace indexer::testing
