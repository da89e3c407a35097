// The metrics of one pipeline, labelled {pipeline="<name>"}:
//
//   indexer_pipeline_messages_consumed_total      counters read from the
//   indexer_pipeline_ids_total                      pipeline's PipelineStats
//   indexer_pipeline_rows_loaded_total              at each scrape
//   indexer_pipeline_upserts_total
//   indexer_pipeline_deletes_total
//   indexer_pipeline_retries_total{stage}           load | sink | dead_letter
//   indexer_pipeline_assigned_partitions            gauge
//   indexer_pipeline_dead_letters_total{reason}     parse | id_type | sink_reject
//   indexer_pipeline_batch_stage_duration_seconds{stage}  poll | load | write | commit
//   indexer_pipeline_end_to_end_delay_seconds      now - message timestamp, at commit
//   indexer_pipeline_paused{reason}                 1 while paused by a failing load | sink | dead_letter
//   indexer_pipeline_held_rejects                   gauge: rejected ops retried because many documents
//                                                   were rejected for the same reason (reject_guard.hpp)
//
// Recording is thread-safe; the pipeline's thread records, a scrape reads.
#pragma once

#include <indexer/metrics/registry.hpp>
#include <indexer/pipeline/pipeline.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace indexer::metrics {

enum class BatchStage { Poll, Load, Write, Commit };
// What a pipeline waits for when it pauses and retries.
enum class FailingStep { Load, Sink, DeadLetter };

std::string_view to_string(BatchStage stage) noexcept;
std::string_view to_string(FailingStep step) noexcept;

// Upper bounds of the histograms, in seconds.
const std::vector<double>& batch_stage_buckets();
const std::vector<double>& end_to_end_delay_buckets();

class PipelineMetrics {
public:
    // Registers the pipeline's series in `registry` and a collector that reads
    // `stats` at each scrape; `stats` must outlive this object.
    PipelineMetrics(Registry& registry, std::string pipeline, const pipeline::PipelineStats& stats);
    ~PipelineMetrics();  // removes the pipeline's series
    PipelineMetrics(const PipelineMetrics&) = delete;
    PipelineMetrics& operator=(const PipelineMetrics&) = delete;

    void observe(BatchStage stage, std::chrono::duration<double> duration);
    void observe_end_to_end_delay(std::chrono::duration<double> delay);
    // `reason`: the dead letter's stage (kafka::dead_letter_stage).
    void dead_lettered(std::string_view reason, std::uint64_t count = 1);
    // Partitions are paused because `step` fails: that reason is 1, the others 0.
    void paused(FailingStep step);
    void resumed();

private:
    Registry& registry_;
    std::string pipeline_;
    Registry::CollectorHandle collector_;
    prometheus::Family<prometheus::Histogram>& stage_family_;
    prometheus::Family<prometheus::Histogram>& delay_family_;
    prometheus::Family<prometheus::Counter>& dead_letter_family_;
    prometheus::Family<prometheus::Gauge>& paused_family_;
    std::array<prometheus::Histogram*, 4> stages_{};
    prometheus::Histogram* delay_ = nullptr;
    std::array<prometheus::Gauge*, 3> paused_{};
    std::mutex dead_letters_mutex_;
    std::map<std::string, prometheus::Counter*, std::less<>> dead_letters_;
};

}  // namespace indexer::metrics
