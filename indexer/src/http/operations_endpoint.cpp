#include <indexer/http/operations_endpoint.hpp>

#include <indexer/metrics/delayer_metrics.hpp>
#include <indexer/metrics/process_metrics.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace indexer::http {

Result<std::unique_ptr<OperationsEndpoint>> OperationsEndpoint::start(const config::Config& config) {
    std::unique_ptr<OperationsEndpoint> endpoint(new OperationsEndpoint());
    endpoint->registry_ = std::make_unique<metrics::Registry>();
    endpoint->process_metrics_ = metrics::add_process_metrics(*endpoint->registry_);
    auto server = HttpServer::start(config.http.listen, *endpoint->registry_);
    if (!server) return Status::error("http.listen: " + server.error());
    endpoint->server_ = std::move(server.value());
    return endpoint;
}

OperationsEndpoint::~OperationsEndpoint() {
    stop();
}

std::uint16_t OperationsEndpoint::port() const noexcept {
    return server_ ? server_->port() : 0;
}

void OperationsEndpoint::watch(const config::Config& config,
                               const std::vector<std::unique_ptr<pipeline::Pipeline>>& pipelines,
                               const std::vector<std::unique_ptr<delayer::Delayer>>& delayers,
                               const plugin::PluginLoader& plugins) {
    for (const auto& delayer : delayers)
        delayer_metrics_.push_back(metrics::add_delayer_metrics(*registry_, *delayer));

    std::vector<metrics::ConsumerLagMonitor::Group> groups;
    for (const auto& running : pipelines) {
        const auto found =
            std::find_if(config.pipelines.begin(), config.pipelines.end(),
                         [&](const config::PipelineConfig& p) { return p.name == running->name(); });
        if (found != config.pipelines.end()) groups.push_back({found->name, found->topic});
    }
    if (!groups.empty()) {
        auto lag = metrics::ConsumerLagMonitor::start(
            *registry_, {config.kafka.brokers, config.kafka.client_id, config.kafka.properties},
            std::move(groups));
        // Only a metric is missing then: not a reason to stop indexing.
        if (lag) {
            lag_ = std::move(lag.value());
        } else {
            spdlog::warn("{}", lag.error());
        }
    }

    readiness_ = health::start_readiness_monitor(config, pipelines, plugins);
    server_->set_readiness([monitor = readiness_.get()] { return monitor->report(); });
}

void OperationsEndpoint::stop() {
    server_.reset();
    // Probes and the lag query in flight end together rather than one after the other.
    if (readiness_) readiness_->request_stop();
    if (lag_) lag_->request_stop();
    readiness_.reset();
    lag_.reset();
    delayer_metrics_.clear();
}

}  // namespace indexer::http
