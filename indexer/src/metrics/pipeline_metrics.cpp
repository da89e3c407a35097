#include <indexer/metrics/pipeline_metrics.hpp>

#include <indexer/kafka/dead_letter.hpp>

#include <algorithm>
#include <atomic>
#include <utility>

namespace indexer::metrics {
namespace {

constexpr std::array kBatchStages{BatchStage::Poll, BatchStage::Load, BatchStage::Write, BatchStage::Commit};
constexpr std::array kFailingSteps{FailingStep::Load, FailingStep::Sink, FailingStep::DeadLetter};

prometheus::Family<prometheus::Histogram>& stage_family(Registry& registry) {
    return prometheus::BuildHistogram()
        .Name("indexer_pipeline_batch_stage_duration_seconds")
        .Help(
            "Time a batch spent in each stage: poll (collecting it), load (PostgreSQL, retries "
            "included), write (the sink, retries included), commit (dead letters and offsets).")
        .Register(registry.families());
}

prometheus::Family<prometheus::Histogram>& delay_family(Registry& registry) {
    return prometheus::BuildHistogram()
        .Name("indexer_pipeline_end_to_end_delay_seconds")
        .Help("Time from a message's Kafka timestamp to the commit of its batch.")
        .Register(registry.families());
}

prometheus::Family<prometheus::Counter>& dead_letter_family(Registry& registry) {
    return prometheus::BuildCounter()
        .Name("indexer_pipeline_dead_letters_total")
        .Help("Messages written to the dead-letter topic, by the stage that gave up on them.")
        .Register(registry.families());
}

prometheus::Family<prometheus::Gauge>& paused_family(Registry& registry) {
    return prometheus::BuildGauge()
        .Name("indexer_pipeline_paused")
        .Help("1 while the pipeline's partitions are paused because this step fails and is retried.")
        .Register(registry.families());
}

prometheus::MetricFamily counter_family(std::string name, std::string help) {
    prometheus::MetricFamily family;
    family.name = std::move(name);
    family.help = std::move(help);
    family.type = prometheus::MetricType::Counter;
    return family;
}

double value(const std::atomic<std::uint64_t>& counter) {
    return static_cast<double>(counter.load(std::memory_order_relaxed));
}

}  // namespace

std::string_view to_string(BatchStage stage) noexcept {
    switch (stage) {
        case BatchStage::Poll:
            return "poll";
        case BatchStage::Load:
            return "load";
        case BatchStage::Write:
            return "write";
        case BatchStage::Commit:
            return "commit";
    }
    return "unknown";
}

std::string_view to_string(FailingStep step) noexcept {
    switch (step) {
        case FailingStep::Load:
            return "load";
        case FailingStep::Sink:
            return "sink";
        case FailingStep::DeadLetter:
            return "dead_letter";
    }
    return "unknown";
}

const std::vector<double>& batch_stage_buckets() {
    // From a fast commit (milliseconds) to a load or write that waited out an outage.
    static const std::vector<double> buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,      2.5,   5,    10,    30,   60,  300};
    return buckets;
}

const std::vector<double>& end_to_end_delay_buckets() {
    // Up to an hour: messages re-published by a delayer arrive minutes late on purpose.
    static const std::vector<double> buckets{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                             5,    10,    30,   60,  300,  900, 3600};
    return buckets;
}

PipelineMetrics::PipelineMetrics(Registry& registry, std::string pipeline,
                                 const pipeline::PipelineStats& stats)
    : registry_(registry),
      pipeline_(std::move(pipeline)),
      stage_family_(stage_family(registry)),
      delay_family_(delay_family(registry)),
      dead_letter_family_(dead_letter_family(registry)),
      paused_family_(paused_family(registry)) {
    for (const BatchStage stage : kBatchStages) {
        stages_[static_cast<std::size_t>(stage)] = &stage_family_.Add(
            {{"pipeline", pipeline_}, {"stage", std::string(to_string(stage))}}, batch_stage_buckets());
    }
    delay_ = &delay_family_.Add({{"pipeline", pipeline_}}, end_to_end_delay_buckets());
    for (const FailingStep step : kFailingSteps) {
        paused_[static_cast<std::size_t>(step)] =
            &paused_family_.Add({{"pipeline", pipeline_}, {"reason", std::string(to_string(step))}});
    }
    // Every known reason from the start, so that rate() and alerts see a 0 before the first one.
    for (const std::string_view reason : {kafka::dead_letter_stage::parse, kafka::dead_letter_stage::id_type,
                                          kafka::dead_letter_stage::sink_reject}) {
        dead_letters_.emplace(
            std::string(reason),
            &dead_letter_family_.Add({{"pipeline", pipeline_}, {"reason", std::string(reason)}}));
    }

    collector_ = registry_.add_collector([name = pipeline_, &stats] {
        const std::vector<prometheus::ClientMetric::Label> labels{{"pipeline", name}};
        std::vector<prometheus::MetricFamily> families;
        auto add = [&](std::string metric, std::string help, double sample) {
            families.push_back(counter_family(std::move(metric), std::move(help)));
            families.back().metric.push_back(counter_sample(sample, labels));
        };
        add("indexer_pipeline_messages_consumed_total", "Messages consumed from the pipeline's topic.",
            value(stats.messages));
        add("indexer_pipeline_ids_total", "Ids to reload, after de-duplication within each batch.",
            value(stats.ids));
        add("indexer_pipeline_rows_loaded_total", "Rows the source query returned.",
            value(stats.rows_loaded));
        add("indexer_pipeline_upserts_total", "Documents the sink wrote (upserts acknowledged OK).",
            value(stats.upserts));
        add("indexer_pipeline_deletes_total", "Deletes the sink acknowledged (ids the query did not return).",
            value(stats.deletes));
        add("indexer_pipeline_dead_letters_lost_total",
            "Dead letters the broker refused for good even without their value: logged with their position, "
            "not published.",
            value(stats.dead_letters_lost));

        prometheus::MetricFamily retries =
            counter_family("indexer_pipeline_retries_total",
                           "Attempts repeated after a failure: batch loads (load), ops the sink asked to "
                           "retry (sink), dead-letter publications (dead_letter).");
        const std::pair<FailingStep, const std::atomic<std::uint64_t>*> steps[] = {
            {FailingStep::Load, &stats.load_retries},
            {FailingStep::Sink, &stats.sink_retries},
            {FailingStep::DeadLetter, &stats.dead_letter_retries}};
        for (const auto& [step, counter] : steps) {
            retries.metric.push_back(counter_sample(
                value(*counter), {{"pipeline", name}, {"stage", std::string(to_string(step))}}));
        }
        families.push_back(std::move(retries));

        prometheus::MetricFamily assigned;
        assigned.name = "indexer_pipeline_assigned_partitions";
        assigned.help = "Partitions of the topic assigned to this process's consumer.";
        assigned.type = prometheus::MetricType::Gauge;
        assigned.metric.push_back(gauge_sample(
            static_cast<double>(stats.assigned_partitions.load(std::memory_order_relaxed)), labels));
        families.push_back(std::move(assigned));

        prometheus::MetricFamily held;
        held.name = "indexer_pipeline_held_rejects";
        held.help =
            "Ops the sink rejected that are retried instead of dead-lettered, because many documents were "
            "rejected for the same reason (pipelines[].pause_after_same_rejects); 0 when none.";
        held.type = prometheus::MetricType::Gauge;
        held.metric.push_back(
            gauge_sample(static_cast<double>(stats.held_rejects.load(std::memory_order_relaxed)), labels));
        families.push_back(std::move(held));
        return families;
    });
}

PipelineMetrics::~PipelineMetrics() {
    collector_.reset();
    for (prometheus::Histogram* stage : stages_) stage_family_.Remove(stage);
    delay_family_.Remove(delay_);
    for (prometheus::Gauge* gauge : paused_) paused_family_.Remove(gauge);
    for (const auto& [reason, counter] : dead_letters_) dead_letter_family_.Remove(counter);
}

void PipelineMetrics::observe(BatchStage stage, std::chrono::duration<double> duration) {
    stages_[static_cast<std::size_t>(stage)]->Observe(duration.count());
}

void PipelineMetrics::observe_end_to_end_delay(std::chrono::duration<double> delay) {
    // A producer clock ahead of ours would give a negative delay: count it as none.
    delay_->Observe(std::max(0.0, delay.count()));
}

void PipelineMetrics::dead_lettered(std::string_view reason, std::uint64_t count) {
    prometheus::Counter* counter = nullptr;
    {
        std::lock_guard lock(dead_letters_mutex_);
        auto found = dead_letters_.find(reason);
        if (found == dead_letters_.end()) {
            found =
                dead_letters_
                    .emplace(std::string(reason), &dead_letter_family_.Add({{"pipeline", pipeline_},
                                                                            {"reason", std::string(reason)}}))
                    .first;
        }
        counter = found->second;
    }
    counter->Increment(static_cast<double>(count));
}

void PipelineMetrics::paused(FailingStep step) {
    for (const FailingStep each : kFailingSteps) {
        paused_[static_cast<std::size_t>(each)]->Set(each == step ? 1 : 0);
    }
}

void PipelineMetrics::resumed() {
    for (prometheus::Gauge* gauge : paused_) gauge->Set(0);
}

}  // namespace indexer::metrics
