// What `indexer run` offers the people operating it besides its job: the
// metrics registry with the process metrics, the HTTP server on http.listen,
// and, once the pipelines and delayers run, the readiness probes, the consumer
// lag refresh and the delayer metrics.
#pragma once

#include <indexer/config/config.hpp>
#include <indexer/delayer/delayer.hpp>
#include <indexer/health/readiness.hpp>
#include <indexer/http/http_server.hpp>
#include <indexer/metrics/consumer_lag.hpp>
#include <indexer/metrics/registry.hpp>
#include <indexer/pipeline/pipeline.hpp>
#include <indexer/plugin/plugin_loader.hpp>
#include <indexer/util/status.hpp>

#include <memory>
#include <vector>

namespace indexer::http {

class OperationsEndpoint {
public:
    // Serves /metrics and /healthz at once, /readyz answers 503 until watch().
    // An error when http.listen cannot be bound.
    static Result<std::unique_ptr<OperationsEndpoint>> start(const config::Config& config);
    // Stops the server first, so that no request reads what goes next.
    ~OperationsEndpoint();
    OperationsEndpoint(const OperationsEndpoint&) = delete;
    OperationsEndpoint& operator=(const OperationsEndpoint&) = delete;

    // For Pipeline::create. Outlives the pipelines when this endpoint does.
    metrics::Registry& registry() noexcept { return *registry_; }
    std::uint16_t port() const noexcept;

    // Starts readiness probes and consumer lag for `pipelines`, and exports
    // the delayers' stats. Everything given must outlive this endpoint: destroy
    // it (or stop() it) before them.
    void watch(const config::Config& config,
               const std::vector<std::unique_ptr<pipeline::Pipeline>>& pipelines,
               const std::vector<std::unique_ptr<delayer::Delayer>>& delayers,
               const plugin::PluginLoader& plugins);

    // Stops serving and watching; the registry stays. Idempotent.
    void stop();

private:
    OperationsEndpoint() = default;

    std::unique_ptr<metrics::Registry> registry_;
    metrics::Registry::CollectorHandle process_metrics_;
    std::unique_ptr<HttpServer> server_;
    std::unique_ptr<health::ReadinessMonitor> readiness_;
    std::unique_ptr<metrics::ConsumerLagMonitor> lag_;
    std::vector<metrics::Registry::CollectorHandle> delayer_metrics_;
};

}  // namespace indexer::http
