// The Kafka vocabulary of the core, free of librdkafka types so that code built
// on the Kafka layer (the pipeline, the delayer) can be unit-tested without a
// broker: where a message comes from, what it carries, what we send.
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::kafka {

struct TopicPartition {
    std::string topic;
    std::int32_t partition = -1;

    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the 0 a defaulted <=> compares with
    friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// "topic[3]", the form used in logs and error messages.
std::string to_string(const TopicPartition& partition);
// "a[0], a[2]"
std::string to_string(const std::vector<TopicPartition>& partitions);

// Kafka headers are an ordered list; a key may repeat and a value may be null.
struct Header {
    std::string key;
    std::optional<std::string> value;

    friend bool operator==(const Header&, const Header&) = default;
};
using Headers = std::vector<Header>;

// The last header with this key (Kafka's convention when a key repeats), or
// nullptr.
const Header* find_header(const Headers& headers, std::string_view key);

// A consumed message, owning copies of its bytes. A null key or value (absent
// on the wire) is std::nullopt, distinct from an empty one.
struct Message {
    std::string topic;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::optional<std::string> key;
    std::optional<std::string> value;
    Headers headers;
    // Producer create time or broker append time; nullopt when the message has
    // none (old message format).
    std::optional<std::chrono::system_clock::time_point> timestamp;

    TopicPartition topic_partition() const { return {topic, partition}; }
};

// The bytes of a message's key and value: what batch and memory limits count.
inline std::size_t message_bytes(const Message& message) {
    return (message.key ? message.key->size() : 0) + (message.value ? message.value->size() : 0);
}

// The time of a Kafka timestamp (milliseconds since the epoch); nullopt for a
// negative one (none). Past what system_clock's nanoseconds hold (year 2262,
// 2^63 ns) it is time_point::max(), not a wrapped-around time: a delayer then
// takes it as a time in the future instead of a time long past.
std::optional<std::chrono::system_clock::time_point> time_from_timestamp(std::int64_t milliseconds);

// For each partition, the offset to commit after processing `messages`: the
// highest offset seen plus one.
std::map<TopicPartition, std::int64_t> next_offsets(const std::vector<Message>& messages);

// A message to produce. Without a partition, the producer's partitioner picks
// one from the key.
struct OutgoingMessage {
    std::string topic;
    std::optional<std::int32_t> partition;
    std::optional<std::string> key;
    std::optional<std::string> value;
    Headers headers;
};

// How to reach the cluster: the kafka section of the configuration.
struct ClientOptions {
    std::string brokers;    // bootstrap.servers
    std::string client_id;  // optional
    // Any librdkafka property, passed through (security.protocol, sasl.*, ...).
    std::map<std::string, std::string> properties;
};

}  // namespace indexer::kafka
