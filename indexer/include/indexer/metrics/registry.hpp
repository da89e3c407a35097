// The process's metrics, served on /metrics in the Prometheus text exposition
// format 0.0.4. Built on prometheus-cpp's core library (Debian:
// prometheus-cpp-dev): its counters, gauges and histograms are thread-safe and
// its serializer writes HELP/TYPE lines, escapes label values and adds the
// +Inf bucket, _sum and _count of histograms.
//
// Two ways to put numbers in:
//  * families(): prometheus-cpp families, updated where things happen
//    (histograms of batch durations, counters by label);
//  * add_collector(): a function called at each scrape that reads values kept
//    elsewhere (the pipelines' atomic totals, /proc/self/statm).
// Families of one name coming from several places (one collector per pipeline)
// are merged into one block, as the format requires.
#pragma once

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::metrics {

// The Content-Type of render()'s text.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

class Registry {
public:
    using Collector = std::function<std::vector<prometheus::MetricFamily>()>;

    // Removes its collector when destroyed (or reset); movable, not copyable.
    class CollectorHandle {
    public:
        CollectorHandle() = default;
        CollectorHandle(CollectorHandle&& other) noexcept;
        CollectorHandle& operator=(CollectorHandle&& other) noexcept;
        CollectorHandle(const CollectorHandle&) = delete;
        CollectorHandle& operator=(const CollectorHandle&) = delete;
        ~CollectorHandle();
        void reset() noexcept;

    private:
        friend class Registry;
        CollectorHandle(Registry* registry, std::uint64_t id) : registry_(registry), id_(id) {}
        Registry* registry_ = nullptr;
        std::uint64_t id_ = 0;
    };

    Registry();
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // For prometheus::BuildCounter()...Register(registry.families()). A name
    // registered again with the same help returns the same family.
    prometheus::Registry& families() noexcept { return *families_; }

    // `collector` must not call back into this registry. It runs on the
    // scraping thread.
    [[nodiscard]] CollectorHandle add_collector(Collector collector);

    // Everything, one block per metric name, sorted by name, its series by labels.
    std::vector<prometheus::MetricFamily> collect() const;
    // collect() in the text exposition format.
    std::string render() const;

private:
    void remove_collector(std::uint64_t id) noexcept;

    std::unique_ptr<prometheus::Registry> families_;
    mutable std::mutex mutex_;
    std::map<std::uint64_t, Collector> collectors_;
    std::uint64_t next_id_ = 1;
};

// Helpers for collectors: one sample of a family, with its labels.
prometheus::ClientMetric counter_sample(double value, std::vector<prometheus::ClientMetric::Label> labels);
prometheus::ClientMetric gauge_sample(double value, std::vector<prometheus::ClientMetric::Label> labels);

// Renders families in the text exposition format 0.0.4.
std::string render_text(const std::vector<prometheus::MetricFamily>& families);

}  // namespace indexer::metrics
