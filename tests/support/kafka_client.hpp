// A plain Kafka client for tests: publish the messages an application would,
// and read back what the indexer wrote (dead letters, re-published messages).
// Independent of the product's own Kafka layer on purpose.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace RdKafka {
class Producer;
class DeliveryReportCb;
}  // namespace RdKafka

namespace indexer::testing {

struct ReadMessage {
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::int64_t timestamp_ms = 0;
    std::map<std::string, std::string> headers;
};

class TestProducer {
public:
    explicit TestProducer(const std::string& brokers);
    ~TestProducer();
    TestProducer(const TestProducer&) = delete;
    TestProducer& operator=(const TestProducer&) = delete;

    // Queues one message; a null value is sent as a Kafka null.
    void send(const std::string& topic, const std::optional<std::string>& key,
              const std::optional<std::string>& value,
              const std::map<std::string, std::string>& headers = {});
    // Waits until every queued message is acknowledged; throws when one failed.
    void flush();

private:
    int failures_ = 0;
    // Declared before the producer, which uses it until it is destroyed.
    std::unique_ptr<RdKafka::DeliveryReportCb> delivery_report_;
    std::unique_ptr<RdKafka::Producer> producer_;
};

// Creates `topic` with `partitions` partitions (replication factor 1) and waits
// until its metadata shows them.
void create_topic(const std::string& brokers, const std::string& topic, int partitions);

// Reads a topic from the beginning (no consumer group) until `expected`
// messages arrived or `timeout` passed; returns what arrived.
std::vector<ReadMessage> read_topic(const std::string& brokers, const std::string& topic,
                                    std::size_t expected, std::chrono::milliseconds timeout);

// The committed offset of each partition of `topic` for consumer group `group`
// (-1001 when none), by partition number.
std::map<std::int32_t, std::int64_t> committed_offsets(const std::string& brokers, const std::string& group,
                                                       const std::string& topic);

}  // namespace indexer::testing
