// Helpers of the Kafka integration suites: topics of their own, producing test
// messages, and polling until something happened.
#pragma once

#include <indexer/kafka/admin.hpp>
#include <indexer/kafka/consumer.hpp>
#include <indexer/kafka/producer.hpp>

#include "support/test_services.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace indexer::testing {

inline kafka::ClientOptions kafka_client(const std::string& brokers,
                                         std::map<std::string, std::string> properties = {}) {
    return kafka::ClientOptions{brokers, "", std::move(properties)};
}

// Creates a topic of its own with `partitions` partitions.
inline std::string create_test_topic(const std::string& brokers, const std::string& prefix, int partitions) {
    const std::string topic = unique_name(prefix);
    auto admin = kafka::Admin::create(kafka_client(brokers));
    EXPECT_TRUE(admin) << admin.error();
    if (!admin) return topic;
    const Status created = admin.value()->create_topic(topic, partitions, std::chrono::seconds(30));
    EXPECT_TRUE(created) << created.message();
    return topic;
}

inline kafka::OutgoingMessage text_message(const std::string& topic, std::optional<std::string> key,
                                           std::optional<std::string> value, kafka::Headers headers = {}) {
    return kafka::OutgoingMessage{topic, std::nullopt, std::move(key), std::move(value), std::move(headers)};
}

// Produces the messages and expects every one to be acknowledged.
inline void produce_all(const std::string& brokers, const std::vector<kafka::OutgoingMessage>& messages) {
    auto producer = kafka::Producer::create(kafka_client(brokers));
    ASSERT_TRUE(producer) << producer.error();
    const auto results = producer.value()->send(messages, std::chrono::seconds(30));
    for (const auto& result : results) ASSERT_TRUE(result) << result.message();
}

// Calls `step` until `done` holds or `timeout` passed; returns done().
inline bool eventually(const std::function<bool()>& done, const std::function<void()>& step,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        step();
    }
    return true;
}

inline std::unique_ptr<kafka::Consumer> make_consumer(const std::string& brokers, const std::string& topic,
                                                      const std::string& group,
                                                      kafka::RebalanceHooks hooks = {},
                                                      std::map<std::string, std::string> properties = {}) {
    kafka::ConsumerOptions options;
    options.client = kafka_client(brokers, std::move(properties));
    options.group_id = group;
    options.topic = topic;
    auto consumer = kafka::Consumer::create(std::move(options), std::move(hooks));
    EXPECT_TRUE(consumer) << consumer.error();
    return consumer ? std::move(consumer.value()) : nullptr;
}

// A consumer of a group of its own: reads the topic from the beginning.
inline std::unique_ptr<kafka::Consumer> reader_of(const std::string& brokers, const std::string& topic) {
    return make_consumer(brokers, topic, unique_name("reader"));
}

// Polls until `count` messages arrived (or the timeout passed) and returns them.
inline std::vector<kafka::Message> poll_messages(
    kafka::Consumer& consumer, std::size_t count,
    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::vector<kafka::Message> received;
    eventually([&] { return received.size() >= count; },
               [&] {
                   auto batch = consumer.poll_batch(count - received.size(), std::chrono::milliseconds(200));
                   EXPECT_TRUE(batch) << batch.error();
                   if (batch) received.insert(received.end(), batch->begin(), batch->end());
               },
               timeout);
    return received;
}

}  // namespace indexer::testing
