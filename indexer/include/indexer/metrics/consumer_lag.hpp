// indexer_pipeline_consumer_lag_messages{pipeline,partition}: for every
// partition of a pipeline's topic, the high watermark minus the group's
// committed offset (kafka::PartitionOffsets::lag), asked of the cluster every
// few seconds on a background thread. The group's view, not this process's:
// several processes of one group report the same numbers (aggregate with max).
#pragma once

#include <indexer/kafka/message.hpp>
#include <indexer/metrics/registry.hpp>
#include <indexer/util/status.hpp>

#include <prometheus/gauge.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace indexer::kafka {
class Admin;
}

namespace indexer::metrics {

class ConsumerLagMonitor {
public:
    struct Group {
        std::string pipeline;  // also the consumer group id
        std::string topic;
    };

    // Creates the Kafka admin client (no waiting for the broker) and starts
    // refreshing every `interval`.
    static Result<std::unique_ptr<ConsumerLagMonitor>> start(
        Registry& registry, const kafka::ClientOptions& client, std::vector<Group> groups,
        std::chrono::milliseconds interval = std::chrono::seconds(5));
    ~ConsumerLagMonitor();  // stops; removes its series
    ConsumerLagMonitor(const ConsumerLagMonitor&) = delete;
    ConsumerLagMonitor& operator=(const ConsumerLagMonitor&) = delete;

    // Refreshes every group once, now (the thread does this every interval).
    void refresh();
    // Ends the refreshing soon (after the query in flight); the destructor waits.
    void request_stop();

private:
    ConsumerLagMonitor(Registry& registry, std::unique_ptr<kafka::Admin> admin, std::vector<Group> groups,
                       std::chrono::milliseconds interval);
    void loop();

    std::unique_ptr<kafka::Admin> admin_;
    std::vector<Group> groups_;
    std::chrono::milliseconds interval_;
    prometheus::Family<prometheus::Gauge>& family_;
    std::mutex refresh_mutex_;
    std::map<std::pair<std::string, std::int32_t>, prometheus::Gauge*> gauges_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace indexer::metrics
