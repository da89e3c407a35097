#include <indexer/metrics/pipeline_metrics.hpp>
#include <indexer/metrics/process_metrics.hpp>
#include <indexer/version.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace indexer::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

TEST(PipelineMetrics, ExportsThePipelineTotalsAsTheyAreAtTheScrape) {
    Registry registry;
    pipeline::PipelineStats stats;
    PipelineMetrics metrics(registry, "products", stats);
    stats.messages = 7;
    stats.ids = 5;
    stats.rows_loaded = 4;
    stats.upserts = 4;
    stats.deletes = 1;
    stats.load_retries = 2;
    stats.sink_retries = 3;
    stats.assigned_partitions = 6;
    stats.held_rejects = 30;

    const std::string text = registry.render();
    EXPECT_THAT(text, HasSubstr("# TYPE indexer_pipeline_messages_consumed_total counter\n"
                                "indexer_pipeline_messages_consumed_total{pipeline=\"products\"} 7\n"));
    EXPECT_THAT(text, HasSubstr("\nindexer_pipeline_ids_total{pipeline=\"products\"} 5\n"));
    EXPECT_THAT(text, HasSubstr("\nindexer_pipeline_rows_loaded_total{pipeline=\"products\"} 4\n"));
    EXPECT_THAT(text, HasSubstr("\nindexer_pipeline_upserts_total{pipeline=\"products\"} 4\n"));
    EXPECT_THAT(text, HasSubstr("\nindexer_pipeline_deletes_total{pipeline=\"products\"} 1\n"));
    EXPECT_THAT(text,
                HasSubstr("indexer_pipeline_retries_total{pipeline=\"products\",stage=\"dead_letter\"} 0\n"
                          "indexer_pipeline_retries_total{pipeline=\"products\",stage=\"load\"} 2\n"
                          "indexer_pipeline_retries_total{pipeline=\"products\",stage=\"sink\"} 3\n"));
    EXPECT_THAT(text, HasSubstr("\nindexer_pipeline_assigned_partitions{pipeline=\"products\"} 6\n"));
    EXPECT_THAT(text, HasSubstr("# TYPE indexer_pipeline_held_rejects gauge\n"
                                "indexer_pipeline_held_rejects{pipeline=\"products\"} 30\n"));

    stats.messages = 9;
    EXPECT_THAT(registry.render(),
                HasSubstr("indexer_pipeline_messages_consumed_total{pipeline=\"products\"} 9\n"));
}

TEST(PipelineMetrics, TwoPipelinesShareOneBlockPerMetric) {
    Registry registry;
    pipeline::PipelineStats search_stats, cache_stats;
    PipelineMetrics search(registry, "search", search_stats);
    PipelineMetrics cache(registry, "cache", cache_stats);
    search_stats.messages = 1;
    cache_stats.messages = 2;

    const std::string text = registry.render();
    EXPECT_THAT(text, HasSubstr("# TYPE indexer_pipeline_messages_consumed_total counter\n"
                                "indexer_pipeline_messages_consumed_total{pipeline=\"cache\"} 2\n"
                                "indexer_pipeline_messages_consumed_total{pipeline=\"search\"} 1\n"));
    const std::string type_line = "# TYPE indexer_pipeline_paused gauge";
    EXPECT_EQ(text.find(type_line), text.rfind(type_line));
}

TEST(PipelineMetrics, StartsEveryDeadLetterReasonAtZeroAndCountsByReason) {
    Registry registry;
    pipeline::PipelineStats stats;
    PipelineMetrics metrics(registry, "p", stats);
    EXPECT_THAT(registry.render(),
                HasSubstr("indexer_pipeline_dead_letters_total{pipeline=\"p\",reason=\"parse\"} 0\n"));

    metrics.dead_lettered("parse", 2);
    metrics.dead_lettered("sink-reject");
    metrics.dead_lettered("something-new");

    const std::string text = registry.render();
    EXPECT_THAT(text, HasSubstr("indexer_pipeline_dead_letters_total{pipeline=\"p\",reason=\"parse\"} 2\n"));
    EXPECT_THAT(text,
                HasSubstr("indexer_pipeline_dead_letters_total{pipeline=\"p\",reason=\"id-type\"} 0\n"));
    EXPECT_THAT(text,
                HasSubstr("indexer_pipeline_dead_letters_total{pipeline=\"p\",reason=\"sink-reject\"} 1\n"));
    EXPECT_THAT(
        text, HasSubstr("indexer_pipeline_dead_letters_total{pipeline=\"p\",reason=\"something-new\"} 1\n"));
}

TEST(PipelineMetrics, MarksOnlyTheFailingStepAsThePauseReason) {
    Registry registry;
    pipeline::PipelineStats stats;
    PipelineMetrics metrics(registry, "p", stats);
    const std::string all_zero =
        "indexer_pipeline_paused{pipeline=\"p\",reason=\"dead_letter\"} 0\n"
        "indexer_pipeline_paused{pipeline=\"p\",reason=\"load\"} 0\n"
        "indexer_pipeline_paused{pipeline=\"p\",reason=\"sink\"} 0\n";
    EXPECT_THAT(registry.render(), HasSubstr(all_zero));

    metrics.paused(FailingStep::Load);
    metrics.paused(FailingStep::Sink);  // the database came back, then the sink failed
    EXPECT_THAT(registry.render(),
                HasSubstr("indexer_pipeline_paused{pipeline=\"p\",reason=\"dead_letter\"} 0\n"
                          "indexer_pipeline_paused{pipeline=\"p\",reason=\"load\"} 0\n"
                          "indexer_pipeline_paused{pipeline=\"p\",reason=\"sink\"} 1\n"));

    metrics.resumed();
    EXPECT_THAT(registry.render(), HasSubstr(all_zero));
}

TEST(PipelineMetrics, KeepsCumulativeStageHistogramsWithSumCountAndInf) {
    Registry registry;
    pipeline::PipelineStats stats;
    PipelineMetrics metrics(registry, "p", stats);
    metrics.observe(BatchStage::Load, 3ms);
    metrics.observe(BatchStage::Load, 200ms);
    metrics.observe(BatchStage::Write, 500s);

    const std::string text = registry.render();
    const std::string load = "indexer_pipeline_batch_stage_duration_seconds";
    const std::string labels = "{pipeline=\"p\",stage=\"load\"";
    EXPECT_THAT(text, HasSubstr(load + "_count" + labels + "} 2\n"));
    EXPECT_THAT(text, HasSubstr(load + "_sum" + labels + "} 0.203\n"));
    EXPECT_THAT(text, HasSubstr(load + "_bucket" + labels + ",le=\"0.0025\"} 0\n"));
    EXPECT_THAT(text, HasSubstr(load + "_bucket" + labels + ",le=\"0.005\"} 1\n"));
    EXPECT_THAT(text, HasSubstr(load + "_bucket" + labels + ",le=\"0.1\"} 1\n"));
    EXPECT_THAT(text, HasSubstr(load + "_bucket" + labels + ",le=\"0.25\"} 2\n"));
    EXPECT_THAT(text, HasSubstr(load + "_bucket" + labels + ",le=\"+Inf\"} 2\n"));
    // Longer than the last bound: only in +Inf.
    EXPECT_THAT(text, HasSubstr(load + "_bucket{pipeline=\"p\",stage=\"write\",le=\"300\"} 0\n"));
    EXPECT_THAT(text, HasSubstr(load + "_bucket{pipeline=\"p\",stage=\"write\",le=\"+Inf\"} 1\n"));
    EXPECT_THAT(text, HasSubstr(load + "_count{pipeline=\"p\",stage=\"poll\"} 0\n"));
}

TEST(PipelineMetrics, CountsAMessageFromAClockAheadAsNoDelay) {
    Registry registry;
    pipeline::PipelineStats stats;
    PipelineMetrics metrics(registry, "p", stats);
    metrics.observe_end_to_end_delay(-5s);
    metrics.observe_end_to_end_delay(30s);

    const std::string text = registry.render();
    EXPECT_THAT(
        text, HasSubstr("indexer_pipeline_end_to_end_delay_seconds_bucket{pipeline=\"p\",le=\"0.01\"} 1\n"));
    EXPECT_THAT(text,
                HasSubstr("indexer_pipeline_end_to_end_delay_seconds_bucket{pipeline=\"p\",le=\"30\"} 2\n"));
    EXPECT_THAT(text, HasSubstr("indexer_pipeline_end_to_end_delay_seconds_sum{pipeline=\"p\"} 30\n"));
}

TEST(PipelineMetrics, RemovesThePipelineSeriesWhenDestroyed) {
    Registry registry;
    pipeline::PipelineStats stats;
    auto metrics = std::make_unique<PipelineMetrics>(registry, "gone", stats);
    PipelineMetrics stays(registry, "stays", stats);
    EXPECT_THAT(registry.render(), HasSubstr("pipeline=\"gone\""));
    metrics.reset();
    const std::string text = registry.render();
    EXPECT_THAT(text, Not(HasSubstr("pipeline=\"gone\"")));
    EXPECT_THAT(text, HasSubstr("pipeline=\"stays\""));
}

TEST(ProcessMetrics, ReadsResidentPagesFromStatm) {
    EXPECT_EQ(resident_bytes_from_statm("2530 1024 512 10 0 300 0\n", 4096), 1024u * 4096u);
    EXPECT_EQ(resident_bytes_from_statm("", 4096), std::nullopt);
    EXPECT_EQ(resident_bytes_from_statm("12 x", 4096), std::nullopt);
}

TEST(ProcessMetrics, ExportsBuildInfoStartTimeUptimeAndMemory) {
    Registry registry;
    const auto started = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
    auto handle = add_process_metrics(registry, started);
    const std::string text = registry.render();
    EXPECT_THAT(text, HasSubstr("indexer_build_info{version=\"" + std::string(kVersion) + "\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("\nindexer_process_start_time_seconds 1700000000\n"));
    EXPECT_THAT(text, HasSubstr("\nindexer_process_uptime_seconds "));
    EXPECT_THAT(text, HasSubstr("\nindexer_process_resident_memory_bytes "));
}

// prometheus-cpp 1.0 writes HELP text as it is: ours must need no escaping.
TEST(Metrics, HelpTextsNeedNoEscaping) {
    Registry registry;
    pipeline::PipelineStats stats;
    PipelineMetrics metrics(registry, "p", stats);
    auto process = add_process_metrics(registry);
    const auto families = registry.collect();
    EXPECT_GE(families.size(), 14u);
    for (const auto& family : families) {
        EXPECT_EQ(family.help.find_first_of("\\\n"), std::string::npos) << family.name;
        EXPECT_FALSE(family.help.empty()) << family.name;
        if (family.type == prometheus::MetricType::Counter) {
            EXPECT_TRUE(family.name.ends_with("_total")) << family.name;
        }
    }
}

}  // namespace
}  // namespace indexer::metrics
