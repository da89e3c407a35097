// Questions about the cluster for check-config, metrics and tests: is the broker
// reachable, does a topic exist and with how many partitions, how far behind is
// a group.
#pragma once

#include <indexer/kafka/message.hpp>
#include <indexer/util/status.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace indexer::kafka {

struct ClusterInfo {
    int broker_count = 0;
    std::string origin_broker;  // the broker that answered, "host:port/id"
};

struct PartitionOffsets {
    std::int32_t partition = -1;
    std::int64_t low = 0;                   // first offset still retained
    std::int64_t high = 0;                  // offset the next message will get (high watermark)
    std::optional<std::int64_t> committed;  // the group's committed offset, if any

    // Messages the group has yet to process: high - committed (high - low when
    // nothing was committed yet).
    std::int64_t lag() const { return high - (committed ? *committed : low); }
};

class Admin {
public:
    static Result<std::unique_ptr<Admin>> create(const ClientOptions& options);
    ~Admin();
    Admin(const Admin&) = delete;
    Admin& operator=(const Admin&) = delete;

    // Fetches the cluster metadata: an error when no broker answers in time.
    Result<ClusterInfo> probe(std::chrono::milliseconds timeout);

    // The topic's partition count, or nullopt when it does not exist. Never
    // creates the topic.
    Result<std::optional<int>> partition_count(const std::string& topic, std::chrono::milliseconds timeout);

    // Whether producing to a topic that does not exist creates it: the
    // broker's auto.create.topics.enable (asked of the broker that answers)
    // and the client's allow.auto.create.topics (librdkafka producers default
    // to true) must both be on. An error when the broker does not tell.
    Result<bool> producing_creates_topics(std::chrono::milliseconds timeout);

    // Creates the topic (replication factor: the broker's default); waits until
    // its metadata shows every partition. An error if it exists already.
    Status create_topic(const std::string& topic, int partitions, std::chrono::milliseconds timeout);

    // Watermarks of every partition of the topic and, when `group` is given,
    // that group's committed offsets.
    Result<std::vector<PartitionOffsets>> offsets(const std::string& topic,
                                                  const std::optional<std::string>& group,
                                                  std::chrono::milliseconds timeout);

    class Impl;

private:
    explicit Admin(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::kafka
