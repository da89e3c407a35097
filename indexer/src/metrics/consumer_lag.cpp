#include <indexer/metrics/consumer_lag.hpp>

#include <indexer/kafka/admin.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace indexer::metrics {
namespace {

// Short: a stop waits for the query in flight.
constexpr std::chrono::seconds kQueryTimeout{3};

}  // namespace

Result<std::unique_ptr<ConsumerLagMonitor>> ConsumerLagMonitor::start(Registry& registry,
                                                                      const kafka::ClientOptions& client,
                                                                      std::vector<Group> groups,
                                                                      std::chrono::milliseconds interval) {
    auto admin = kafka::Admin::create(client);
    if (!admin) return Status::error("consumer lag: Kafka admin client: " + admin.error());
    return std::unique_ptr<ConsumerLagMonitor>(
        new ConsumerLagMonitor(registry, std::move(admin.value()), std::move(groups), interval));
}

ConsumerLagMonitor::ConsumerLagMonitor(Registry& registry, std::unique_ptr<kafka::Admin> admin,
                                       std::vector<Group> groups, std::chrono::milliseconds interval)
    : admin_(std::move(admin)),
      groups_(std::move(groups)),
      interval_(interval),
      family_(prometheus::BuildGauge()
                  .Name("indexer_pipeline_consumer_lag_messages")
                  .Help("Messages of the partition not yet committed by the pipeline's consumer group: high "
                        "watermark minus committed offset.")
                  .Register(registry.families())) {
    thread_ = std::thread([this] { loop(); });
}

ConsumerLagMonitor::~ConsumerLagMonitor() {
    request_stop();
    thread_.join();
    for (const auto& [key, gauge] : gauges_) family_.Remove(gauge);
}

void ConsumerLagMonitor::request_stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
}

void ConsumerLagMonitor::refresh() {
    std::lock_guard refreshing(refresh_mutex_);
    for (const Group& group : groups_) {
        if (stopping_) return;
        auto offsets = admin_->offsets(group.topic, group.pipeline, kQueryTimeout);
        if (!offsets) {
            // The last numbers stay: they are the latest known. The log filter keeps this to one line per 30
            // s.
            spdlog::warn("{}: consumer lag of topic {} not refreshed: {}", group.pipeline, group.topic,
                         offsets.error());
            continue;
        }
        for (const kafka::PartitionOffsets& partition : offsets.value()) {
            auto [it, inserted] = gauges_.try_emplace({group.pipeline, partition.partition}, nullptr);
            if (inserted) {
                it->second = &family_.Add(
                    {{"pipeline", group.pipeline}, {"partition", std::to_string(partition.partition)}});
            }
            it->second->Set(static_cast<double>(std::max<std::int64_t>(0, partition.lag())));
        }
    }
}

void ConsumerLagMonitor::loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        refresh();
        lock.lock();
        wake_.wait_for(lock, interval_, [this] { return stopping_.load(); });
    }
}

}  // namespace indexer::metrics
