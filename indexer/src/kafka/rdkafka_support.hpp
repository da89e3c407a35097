// Private glue between librdkafka's C++ API and the core's Kafka vocabulary.
#pragma once

#include <indexer/kafka/client_properties.hpp>
#include <indexer/kafka/message.hpp>
#include <indexer/util/status.hpp>

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>
#include <vector>

namespace indexer::kafka::detail {

// Routes librdkafka's log lines and client errors to spdlog, tagged with the
// client's role ("consumer group x", "producer").
class LogBridge : public RdKafka::EventCb {
public:
    explicit LogBridge(std::string who) : who_(std::move(who)) {}
    void event_cb(RdKafka::Event& event) override;

private:
    std::string who_;
};

// A librdkafka configuration with every property set; an error names the
// property librdkafka refused and why.
Result<std::unique_ptr<RdKafka::Conf>> make_conf(const Properties& properties, LogBridge* log_bridge);

// Owns the elements of a vector of RdKafka::TopicPartition*.
class PartitionList {
public:
    PartitionList() = default;
    explicit PartitionList(const std::vector<TopicPartition>& partitions);
    ~PartitionList() { RdKafka::TopicPartition::destroy(list_); }
    PartitionList(const PartitionList&) = delete;
    PartitionList& operator=(const PartitionList&) = delete;

    void add(const TopicPartition& partition, std::int64_t offset);
    std::vector<RdKafka::TopicPartition*>& get() { return list_; }
    bool empty() const { return list_.empty(); }

private:
    std::vector<RdKafka::TopicPartition*> list_;
};

std::vector<TopicPartition> to_partitions(const std::vector<RdKafka::TopicPartition*>& partitions);

Message to_message(RdKafka::Message& message);

// "Local: Broker transport failure (-195)"
std::string describe(RdKafka::ErrorCode code);

}  // namespace indexer::kafka::detail
