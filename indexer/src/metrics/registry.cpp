#include <indexer/metrics/registry.hpp>

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>
#include <utility>

namespace indexer::metrics {

Registry::CollectorHandle::CollectorHandle(CollectorHandle&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(other.id_) {}

Registry::CollectorHandle& Registry::CollectorHandle::operator=(CollectorHandle&& other) noexcept {
    if (this != &other) {
        reset();
        registry_ = std::exchange(other.registry_, nullptr);
        id_ = other.id_;
    }
    return *this;
}

Registry::CollectorHandle::~CollectorHandle() {
    reset();
}

void Registry::CollectorHandle::reset() noexcept {
    if (registry_ != nullptr) registry_->remove_collector(id_);
    registry_ = nullptr;
}

Registry::Registry() : families_(std::make_unique<prometheus::Registry>()) {}
Registry::~Registry() = default;

Registry::CollectorHandle Registry::add_collector(Collector collector) {
    std::lock_guard lock(mutex_);
    const std::uint64_t id = next_id_++;
    collectors_.emplace(id, std::move(collector));
    return CollectorHandle(this, id);
}

void Registry::remove_collector(std::uint64_t id) noexcept {
    std::lock_guard lock(mutex_);
    collectors_.erase(id);
}

std::vector<prometheus::MetricFamily> Registry::collect() const {
    std::vector<prometheus::MetricFamily> all = families_->Collect();
    {
        // Collectors run under the lock so that none is removed (and its data
        // destroyed) while it runs.
        std::lock_guard lock(mutex_);
        for (const auto& [id, collector] : collectors_) {
            for (auto& family : collector()) all.push_back(std::move(family));
        }
    }
    // The format wants every sample of a name in one block under one HELP/TYPE.
    std::map<std::string, prometheus::MetricFamily> merged;
    for (auto& family : all) {
        auto [it, inserted] = merged.try_emplace(family.name, std::move(family));
        if (!inserted) {
            for (auto& metric : family.metric) it->second.metric.push_back(std::move(metric));
        }
    }
    std::vector<prometheus::MetricFamily> result;
    result.reserve(merged.size());
    for (auto& [name, family] : merged) {
        // A family whose every series was removed would be a HELP/TYPE with no sample.
        if (family.metric.empty()) continue;
        // Series in label order, so that a scrape reads the same way each time.
        std::stable_sort(family.metric.begin(), family.metric.end(),
                         [](const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
                             return a.label < b.label;
                         });
        result.push_back(std::move(family));
    }
    return result;
}

std::string Registry::render() const {
    return render_text(collect());
}

prometheus::ClientMetric counter_sample(double value, std::vector<prometheus::ClientMetric::Label> labels) {
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    metric.counter.value = value;
    return metric;
}

prometheus::ClientMetric gauge_sample(double value, std::vector<prometheus::ClientMetric::Label> labels) {
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    metric.gauge.value = value;
    return metric;
}

std::string render_text(const std::vector<prometheus::MetricFamily>& families) {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

}  // namespace indexer::metrics
