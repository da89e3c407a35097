#include <indexer/metrics/registry.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <gtest/gtest.h>

namespace indexer::metrics {
namespace {

prometheus::MetricFamily items(const std::string& source, double value) {
    prometheus::MetricFamily family;
    family.name = "demo_items_total";
    family.help = "Items.";
    family.type = prometheus::MetricType::Counter;
    family.metric.push_back(counter_sample(value, {{"source", source}}));
    return family;
}

TEST(MetricsRegistry, RendersCountersGaugesAndHistogramsInTheTextFormat) {
    Registry registry;
    prometheus::BuildCounter()
        .Name("demo_requests_total")
        .Help("Requests served.")
        .Register(registry.families())
        .Add({{"path", "C:\\dir \"quoted\"\nnext"}})
        .Increment(3);
    prometheus::BuildGauge()
        .Name("demo_temperature_celsius")
        .Help("Current temperature.")
        .Register(registry.families())
        .Add({})
        .Set(-4.5);
    auto& latency = prometheus::BuildHistogram()
                        .Name("demo_latency_seconds")
                        .Help("Latency.")
                        .Register(registry.families())
                        .Add({{"stage", "load"}}, prometheus::Histogram::BucketBoundaries{0.125, 1});
    latency.Observe(0.0625);
    latency.Observe(0.5);
    latency.Observe(2);

    // Checked by hand against the format's specification: one HELP and TYPE
    // per name; backslash, quote and newline escaped in label values;
    // cumulative buckets ending with +Inf, which equals _count.
    EXPECT_EQ(registry.render(), R"(# HELP demo_latency_seconds Latency.
# TYPE demo_latency_seconds histogram
demo_latency_seconds_count{stage="load"} 3
demo_latency_seconds_sum{stage="load"} 2.5625
demo_latency_seconds_bucket{stage="load",le="0.125"} 1
demo_latency_seconds_bucket{stage="load",le="1"} 2
demo_latency_seconds_bucket{stage="load",le="+Inf"} 3
# HELP demo_requests_total Requests served.
# TYPE demo_requests_total counter
demo_requests_total{path="C:\\dir \"quoted\"\nnext"} 3
# HELP demo_temperature_celsius Current temperature.
# TYPE demo_temperature_celsius gauge
demo_temperature_celsius -4.5
)");
}

TEST(MetricsRegistry, MergesOneNameFromSeveralCollectorsIntoOneBlock) {
    Registry registry;
    auto first = registry.add_collector([] { return std::vector{items("a", 1)}; });
    auto second = registry.add_collector([] { return std::vector{items("b", 2)}; });

    EXPECT_EQ(registry.render(), R"(# HELP demo_items_total Items.
# TYPE demo_items_total counter
demo_items_total{source="a"} 1
demo_items_total{source="b"} 2
)");
}

TEST(MetricsRegistry, ReadsCollectedValuesAtEachScrape) {
    Registry registry;
    double value = 1;
    auto handle = registry.add_collector([&value] { return std::vector{items("a", value)}; });
    EXPECT_NE(registry.render().find("demo_items_total{source=\"a\"} 1\n"), std::string::npos);
    value = 42;
    EXPECT_NE(registry.render().find("demo_items_total{source=\"a\"} 42\n"), std::string::npos);
}

TEST(MetricsRegistry, ForgetsACollectorWhenItsHandleGoes) {
    Registry registry;
    {
        auto handle = registry.add_collector([] { return std::vector{items("a", 1)}; });
        EXPECT_FALSE(registry.render().empty());
    }
    EXPECT_EQ(registry.render(), "");
    auto moved = registry.add_collector([] { return std::vector{items("b", 2)}; });
    Registry::CollectorHandle target = std::move(moved);
    EXPECT_NE(registry.render().find("source=\"b\""), std::string::npos);
    target.reset();
    EXPECT_EQ(registry.render(), "");
}

}  // namespace
}  // namespace indexer::metrics
