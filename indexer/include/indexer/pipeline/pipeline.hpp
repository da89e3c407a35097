// One pipeline: a consumer group on a topic of id messages, a PostgreSQL source
// and a sink plugin (DESIGN.md §3). Per batch:
//
//   poll ─▶ extract ids (unreadable → dead letter) ─▶ de-duplicate
//        ─▶ load the rows in one query (ids the column cannot hold → dead letter)
//        ─▶ found rows UPSERT, missing ids DELETE ─▶ sink, RETRY ops again with
//           backoff while the partitions are paused (REJECT → dead letter)
//        ─▶ dead letters acknowledged ─▶ commit the batch's offsets
//
// Offsets are committed only once every message of the batch is written or
// dead-lettered, so a crash at any point repeats work and never skips it;
// every write is idempotent because it writes the row as it is now.
//
// While the database, the sink or Kafka is failing, the batch waits with its
// partitions paused and the consumer keeps polling, so it stays in its group
// however long the outage lasts.
#pragma once

#include <indexer/config/config.hpp>
#include <indexer/plugin/plugin_loader.hpp>
#include <indexer/postgres/batch_loader.hpp>
#include <indexer/util/status.hpp>
#include <indexer/util/stop_signal.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace indexer::metrics {
class Registry;
}

namespace indexer::pipeline {

// A text written by the pipeline and read by /readyz.
class PauseReason {
public:
    void set(std::string text) {
        std::lock_guard lock(mutex_);
        text_ = std::move(text);
    }
    std::string get() const {
        std::lock_guard lock(mutex_);
        return text_;
    }

private:
    mutable std::mutex mutex_;
    std::string text_;
};

// Running totals, readable from any thread (metrics, tests).
struct PipelineStats {
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> messages{0};  // consumed
    std::atomic<std::uint64_t> ids{0};       // after de-duplication
    std::atomic<std::uint64_t> rows_loaded{0};
    std::atomic<std::uint64_t> upserts{0};       // written OK
    std::atomic<std::uint64_t> deletes{0};       // written OK
    std::atomic<std::uint64_t> dead_letters{0};  // messages dead-lettered
    // Dead letters the broker refused for good, even stripped: logged, not published.
    std::atomic<std::uint64_t> dead_letters_lost{0};
    std::atomic<std::uint64_t> sink_retries{0};  // ops written again after RETRY
    std::atomic<std::uint64_t> load_retries{0};  // batch loads tried again
    std::atomic<std::uint64_t> commits{0};
    std::atomic<bool> paused{false};  // partitions paused by an outage
    // Why it is paused (the failing step's last error), for /readyz; empty when not.
    PauseReason pause_reason;
    // Ops the sink rejected that are held (retried) because many documents were
    // rejected for the same reason (reject_guard.hpp), as of the last write.
    std::atomic<std::uint64_t> held_rejects{0};

    // Dead-letter publications tried again.
    std::atomic<std::uint64_t> dead_letter_retries{0};
    // The group was joined: the first assignment (possibly empty) arrived.
    std::atomic<bool> group_joined{false};
    std::atomic<std::int64_t> assigned_partitions{0};
};

// How the pipeline's loader reaches and reads its source (also what
// check-config probes).
postgres::BatchLoaderOptions loader_options(const config::Config& config,
                                            const config::PipelineConfig& pipeline);

class Pipeline {
public:
    // Loads and opens the sink, connects to PostgreSQL and prepares the
    // query, and joins the consumer group (no message consumed yet). Every
    // error names the pipeline; none is retried here: a start-up error stops
    // start-up. With `metrics`, the pipeline records its metrics there
    // (metrics/pipeline_metrics.hpp); the registry must outlive the pipeline.
    static Result<std::unique_ptr<Pipeline>> create(const config::Config& config,
                                                    const config::PipelineConfig& pipeline,
                                                    const plugin::PluginLoader& plugins,
                                                    metrics::Registry* metrics = nullptr);

    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // Consumes until `stop` is requested, then finishes the batch in hand (or
    // gives it up uncommitted once the stop's grace period is over), commits,
    // and leaves the group. An error only for a fatal consumer failure.
    Status run(StopSignal& stop);

    const std::string& name() const noexcept;
    const PipelineStats& stats() const noexcept;

    class Impl;

private:
    explicit Pipeline(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::pipeline
