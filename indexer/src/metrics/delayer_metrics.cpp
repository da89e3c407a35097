#include <indexer/metrics/delayer_metrics.hpp>

namespace indexer::metrics {
namespace {

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
    prometheus::MetricFamily result;
    result.name = std::move(name);
    result.help = std::move(help);
    result.type = type;
    return result;
}

}  // namespace

std::vector<prometheus::MetricFamily> delayer_families(const std::string& name,
                                                       const delayer::DelayerStats& stats) {
    const std::vector<prometheus::ClientMetric::Label> labels{{"delayer", name}};
    std::vector<prometheus::MetricFamily> families;
    auto gauge = [&](std::string metric, std::string help, double value) {
        families.push_back(family(std::move(metric), std::move(help), prometheus::MetricType::Gauge));
        families.back().metric.push_back(gauge_sample(value, labels));
    };
    auto counter = [&](std::string metric, std::string help, std::uint64_t value) {
        families.push_back(family(std::move(metric), std::move(help), prometheus::MetricType::Counter));
        families.back().metric.push_back(counter_sample(static_cast<double>(value), labels));
    };
    gauge("indexer_delayer_messages_waiting", "Delay messages consumed and not yet re-published.",
          static_cast<double>(stats.waiting));
    if (stats.seconds_until_next_due) {
        gauge("indexer_delayer_next_due_seconds",
              "Seconds until the next waiting message is due (0: due now).", *stats.seconds_until_next_due);
    }
    counter("indexer_delayer_republished_total",
            "Messages re-published to the target topic and acknowledged.", stats.republished);
    counter("indexer_delayer_dead_letters_total", "Broken delay wrappers written to the dead-letter topic.",
            stats.dead_lettered);
    counter("indexer_delayer_passed_through_total", "Broken delay wrappers re-published unchanged.",
            stats.broken_passed_through);
    counter("indexer_delayer_future_timestamps_total",
            "Messages whose time was ahead of the local clock and was taken as now.", stats.future_times);
    counter("indexer_delayer_publish_failures_total", "Re-publications that failed and are tried again.",
            stats.publish_failures);
    counter("indexer_delayer_publish_refused_total",
            "Re-publications the broker refused for good (too large, invalid topic, not authorized): "
            "dead-lettered when the delayer has a dead-letter topic.",
            stats.publish_refused);
    counter("indexer_delayer_lost_total",
            "Messages neither re-published nor dead-lettered (refused for good even stripped): logged with "
            "their position; should stay 0.",
            stats.lost);
    return families;
}

Registry::CollectorHandle add_delayer_metrics(Registry& registry, const delayer::Delayer& delayer) {
    return registry.add_collector(
        [&delayer] { return delayer_families(delayer.options().name, delayer.stats()); });
}

}  // namespace indexer::metrics
