// The producer wrapper and dead-lettering against the real broker.
#include "kafka_fixture.hpp"

#include <indexer/kafka/dead_letter.hpp>
#include <indexer/kafka/producer.hpp>

#include <gtest/gtest.h>

namespace indexer::kafka {
namespace {

using indexer::testing::create_test_topic;
using indexer::testing::kafka_client;
using indexer::testing::poll_messages;
using indexer::testing::reader_of;
using indexer::testing::text_message;
using namespace std::chrono_literals;

TEST(KafkaProducer, DeliversKeyValueAndHeadersAndReportsEveryMessageAcknowledged) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "produce", 1);
    auto producer = Producer::create(kafka_client(brokers));
    ASSERT_TRUE(producer) << producer.error();
    for (int i = 0; i < 100; ++i) {
        auto ticket = producer.value()->produce(
            text_message(topic, std::to_string(i), "v" + std::to_string(i), {{"n", std::to_string(i)}}));
        ASSERT_TRUE(ticket) << ticket.error();
    }
    const DeliveryReport report = producer.value()->await_deliveries(30s);
    EXPECT_TRUE(report.all_acknowledged())
        << report.failed.size() << " failed, " << report.pending << " pending";
    EXPECT_EQ(producer.value()->in_flight(), 0U);

    auto reader = reader_of(brokers, topic);
    ASSERT_TRUE(reader);
    const auto received = poll_messages(*reader, 100);
    ASSERT_EQ(received.size(), 100U);
    EXPECT_EQ(received[57].key, "57");
    EXPECT_EQ(received[57].value, "v57");
    EXPECT_EQ(received[57].headers, (Headers{{"n", "57"}}));
}

TEST(KafkaProducer, ReportsAMessageTheBrokerRefusesInsteadOfHidingIt) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "too_large", 1);
    // The client lets 1.5 MB through; the broker's limit (message.max.bytes,
    // about 1 MB by default) refuses it.
    auto producer = Producer::create(kafka_client(brokers, {{"message.max.bytes", "3000000"}}));
    ASSERT_TRUE(producer) << producer.error();
    const std::vector<OutgoingMessage> messages{text_message(topic, "small", "ok"),
                                                text_message(topic, "large", std::string(1'500'000, 'x'))};
    const auto results = producer.value()->send(messages, 30s);
    ASSERT_EQ(results.size(), 2U);
    EXPECT_TRUE(results[0]) << results[0].message();
    ASSERT_FALSE(results[1]);
    EXPECT_NE(results[1].message().find("too large"), std::string::npos) << results[1].message();
}

TEST(KafkaProducer, RefusesAtOnceAMessageLargerThanItsOwnLimit) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "too_large_local", 1);
    auto producer = Producer::create(kafka_client(brokers, {{"message.max.bytes", "10000"}}));
    ASSERT_TRUE(producer) << producer.error();
    auto ticket = producer.value()->produce(text_message(topic, "k", std::string(20'000, 'x')));
    ASSERT_FALSE(ticket);
    EXPECT_NE(ticket.error().find("too large"), std::string::npos) << ticket.error();
}

TEST(DeadLetterPublisher, PublishesTheOriginalKeyValueAndHeadersWithTheReason) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "dl_source", 1);
    const std::string dead_letter_topic = create_test_topic(brokers, "dl_target", 1);
    indexer::testing::produce_all(brokers, {text_message(topic, "k-1", R"({"id": true})", {{"trace", "t-1"}}),
                                            text_message(topic, std::nullopt, "not json")});
    auto source = reader_of(brokers, topic);
    ASSERT_TRUE(source);
    const auto originals = poll_messages(*source, 2);
    ASSERT_EQ(originals.size(), 2U);

    auto producer = Producer::create(kafka_client(brokers));
    ASSERT_TRUE(producer) << producer.error();
    DeadLetterPublisher publisher(*producer.value(), dead_letter_topic, "products-es");
    const Status published = publisher.publish(
        {DeadLetter{&originals[0], "parse", "field \"id\" is a boolean, expected an integer or a string"},
         DeadLetter{&originals[1], "parse", "value is not JSON: syntax error"}});
    ASSERT_TRUE(published) << published.message();

    auto reader = reader_of(brokers, dead_letter_topic);
    ASSERT_TRUE(reader);
    const auto letters = poll_messages(*reader, 2);
    ASSERT_EQ(letters.size(), 2U);
    EXPECT_EQ(letters[0].key, "k-1");
    EXPECT_EQ(letters[0].value, R"({"id": true})");
    const Headers expected{{"trace", "t-1"},
                           {"indexer.reason", "field \"id\" is a boolean, expected an integer or a string"},
                           {"indexer.source.topic", topic},
                           {"indexer.source.partition", "0"},
                           {"indexer.source.offset", "0"},
                           {"indexer.pipeline", "products-es"},
                           {"indexer.stage", "parse"}};
    EXPECT_EQ(letters[0].headers, expected);
    EXPECT_FALSE(letters[1].key);
    EXPECT_EQ(letters[1].value, "not json");
    ASSERT_NE(find_header(letters[1].headers, "indexer.source.offset"), nullptr);
    EXPECT_EQ(find_header(letters[1].headers, "indexer.source.offset")->value, "1");
}

TEST(KafkaProducer, ABrokerRefusalForGoodIsNotRetryable) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "refused", 1);
    auto producer = Producer::create(kafka_client(brokers, {{"message.max.bytes", "3000000"}}));
    ASSERT_TRUE(producer) << producer.error();
    EXPECT_EQ(producer.value()->max_message_bytes(), 3'000'000U);
    const auto results = producer.value()->send({text_message(topic, "k", std::string(1'500'000, 'x'))}, 30s);
    ASSERT_FALSE(results[0]);
    EXPECT_FALSE(results[0].is_retryable()) << results[0].message();
}

TEST(KafkaProducer, IsReplacedAfterAFatalErrorAndSendsAgain) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "fatal", 1);
    auto producer = Producer::create(kafka_client(brokers));
    ASSERT_TRUE(producer) << producer.error();
    EXPECT_EQ(producer.value()->max_message_bytes(), 1'000'000U);
    producer.value()->simulate_fatal_error_for_test();
    const auto results = producer.value()->send({text_message(topic, "k", "after the fatal error")}, 30s);
    ASSERT_TRUE(results[0]) << results[0].message();
    auto reader = reader_of(brokers, topic);
    ASSERT_TRUE(reader);
    const auto received = poll_messages(*reader, 1);
    ASSERT_EQ(received.size(), 1U);
    EXPECT_EQ(received[0].value, "after the fatal error");
}

TEST(DeadLetterPublisher, SendsTheLetterWithoutItsValueWhenTheBrokerRefusesTheCopy) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string dead_letter_topic = create_test_topic(brokers, "dl_refused", 1);
    Message original;
    original.topic = "products";
    original.partition = 2;
    original.offset = 77;
    original.key = "k";
    original.value = std::string(1'500'000, 'v');  // the client lets it through, the broker does not
    auto producer = Producer::create(kafka_client(brokers, {{"message.max.bytes", "3000000"}}));
    ASSERT_TRUE(producer) << producer.error();
    DeadLetterPublisher publisher(*producer.value(), dead_letter_topic, "p");
    const Status published = publisher.publish(original, "parse", "field \"id\" missing");
    ASSERT_TRUE(published) << published.message();
    EXPECT_EQ(publisher.lost(), 0U);

    auto reader = reader_of(brokers, dead_letter_topic);
    ASSERT_TRUE(reader);
    const auto letters = poll_messages(*reader, 1);
    ASSERT_EQ(letters.size(), 1U);
    EXPECT_FALSE(letters[0].value);
    EXPECT_FALSE(letters[0].key);
    ASSERT_NE(find_header(letters[0].headers, "indexer.value.truncated"), nullptr);
    EXPECT_EQ(find_header(letters[0].headers, "indexer.value.truncated")->value, "1500000");
    EXPECT_EQ(find_header(letters[0].headers, "indexer.source.offset")->value, "77");
}

}  // namespace
}  // namespace indexer::kafka
