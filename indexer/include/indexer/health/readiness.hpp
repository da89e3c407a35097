// Whether the process is ready to do its job, for /readyz: every pipeline has
// joined its consumer group, its sink reports healthy, its writes are not
// paused (a failing step retried with backoff, e.g. a blocked index or many
// documents rejected for one reason), and the database answers.
//
// Probes run in the background, each on its own thread every few seconds, and
// /readyz reads their last results, so a scrape never waits for a slow service
// and one hanging probe does not delay the others. A probe that has not
// finished for longer than `stale_after` counts as failed ("no answer").
//
// Sinks are probed through a second handle of the pipeline's plugin, opened
// with the same configuration: a handle is used by one thread at a time (the
// ABI's rule), and the pipeline's own handle may be busy for long (a write
// retried during an outage), which is exactly when the answer matters.
#pragma once

#include <indexer/config/config.hpp>
#include <indexer/pipeline/pipeline.hpp>
#include <indexer/plugin/plugin_loader.hpp>
#include <indexer/util/status.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace indexer::health {

struct Check {
    std::string name;  // "database", "pipeline products: consumer group", ...
    bool ok = false;
    std::string detail;
};

struct ReadinessReport {
    bool ready = false;
    std::vector<Check> checks;

    // {"ready":false,"not_ready":["pipeline products: sink"],"checks":[{"name":...,"ok":...,"detail":...}]}
    std::string to_json() const;
};

// Runs `probe` now and then every `interval` on its own thread; check()
// returns the last result.
class PeriodicProbe {
public:
    using Clock = std::chrono::steady_clock;

    PeriodicProbe(std::string name, std::function<Status()> probe, std::chrono::milliseconds interval);
    ~PeriodicProbe();  // stops; waits for a probe in flight
    PeriodicProbe(const PeriodicProbe&) = delete;
    PeriodicProbe& operator=(const PeriodicProbe&) = delete;

    // No probe starts after this; the destructor still waits for the one in
    // flight. Lets several probes wind down at once.
    void request_stop();

    // Failed until the first probe finished, and when the probe in flight has
    // run for longer than `stale_after`.
    Check check(Clock::time_point now, Clock::duration stale_after) const;

private:
    void loop();

    std::string name_;
    std::function<Status()> probe_;
    std::chrono::milliseconds interval_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::optional<Status> last_;
    Clock::time_point started_;  // of the probe in flight, or of the last one
    bool in_flight_ = false;
    std::thread thread_;
};

struct ReadinessOptions {
    std::chrono::milliseconds interval{std::chrono::seconds(5)};
    std::chrono::milliseconds stale_after{std::chrono::seconds(30)};
};

class ReadinessMonitor {
public:
    struct PipelineTarget {
        std::string name;
        const pipeline::PipelineStats* stats = nullptr;  // group_joined, assigned_partitions
        std::function<Status()> sink_probe;
    };

    // Starts the probes. Without a database probe (no pipeline needs one) the
    // database is not checked.
    ReadinessMonitor(std::function<Status()> database_probe, std::vector<PipelineTarget> pipelines,
                     ReadinessOptions options = {});
    ~ReadinessMonitor();

    ReadinessReport report() const;
    // Every probe winds down at once (see PeriodicProbe::request_stop).
    void request_stop();

private:
    struct Pipeline {
        std::string name;
        const pipeline::PipelineStats* stats;
        std::unique_ptr<PeriodicProbe> sink;
    };
    ReadinessOptions options_;
    std::unique_ptr<PeriodicProbe> database_;
    std::vector<Pipeline> pipelines_;
};

// Probes for the real services.
//
// SELECT 1 on a connection kept between calls (reconnecting after a failure),
// with libpq's connect_timeout and tcp_user_timeout set to `timeout`.
std::function<Status()> database_probe(const std::string& url, std::chrono::seconds timeout);
// SinkHandle::health() of a handle of the pipeline's plugin opened for the
// probe alone (re-opened after an open failure).
std::function<Status()> sink_probe(const config::PipelineConfig& pipeline,
                                   const plugin::PluginLoader& plugins);

// The monitor for the running pipelines of `config`.
std::unique_ptr<ReadinessMonitor> start_readiness_monitor(
    const config::Config& config, const std::vector<std::unique_ptr<pipeline::Pipeline>>& pipelines,
    const plugin::PluginLoader& plugins, ReadinessOptions options = {});

// A libpq connection string with `key=value` added, in the string's own form
// (URL query parameter or keyword/value pair).
std::string with_connection_option(const std::string& url, const std::string& key, const std::string& value);

}  // namespace indexer::health
