#include <indexer/health/readiness.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace indexer::health {
namespace {

using namespace std::chrono_literals;

// Waits for a background probe, without asserting anything about time.
template <class Condition>
bool eventually(Condition condition) {
    for (int i = 0; i < 600; ++i) {
        if (condition()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return condition();
}

TEST(ReadinessReport, NamesTheFailingChecksInItsJson) {
    ReadinessReport report;
    report.ready = false;
    report.checks = {{"database", true, "ok"}, {"pipeline products: sink", false, "connection refused"}};

    const auto json = nlohmann::json::parse(report.to_json());
    EXPECT_EQ(json["ready"], false);
    EXPECT_EQ(json["not_ready"], nlohmann::json::array({"pipeline products: sink"}));
    ASSERT_EQ(json["checks"].size(), 2u);
    EXPECT_EQ(json["checks"][1]["detail"], "connection refused");
    EXPECT_EQ(json["checks"][0]["ok"], true);
}

TEST(PeriodicProbe, IsNotOkBeforeItsFirstAnswer) {
    std::atomic<bool> release{false};
    PeriodicProbe probe(
        "slow",
        [&] {
            while (!release) std::this_thread::sleep_for(1ms);
            return Status::ok();
        },
        1h);
    const Check check = probe.check(PeriodicProbe::Clock::now(), 1h);
    EXPECT_FALSE(check.ok);
    EXPECT_EQ(check.detail, "not probed yet");
    release = true;
    EXPECT_TRUE(eventually([&] { return probe.check(PeriodicProbe::Clock::now(), 1h).ok; }));
}

TEST(PeriodicProbe, ReportsAProbeThatHangsAsNoAnswer) {
    std::atomic<bool> release{false};
    PeriodicProbe probe(
        "hangs",
        [&] {
            while (!release) std::this_thread::sleep_for(1ms);
            return Status::ok();
        },
        1h);
    // Seen from a minute later, the probe in flight has not answered for a minute.
    const Check check = probe.check(PeriodicProbe::Clock::now() + 60s, 30s);
    EXPECT_FALSE(check.ok);
    EXPECT_EQ(check.detail.rfind("no answer for ", 0), 0u) << check.detail;
    release = true;
}

TEST(PeriodicProbe, ShowsTheFailureWithoutThePasswordOfAUrl) {
    PeriodicProbe probe(
        "sink", [] { return Status::error("GET http://elastic:s3cret@es:9200/ refused"); }, 1h);
    ASSERT_TRUE(
        eventually([&] { return probe.check(PeriodicProbe::Clock::now(), 1h).detail != "not probed yet"; }));
    const Check check = probe.check(PeriodicProbe::Clock::now(), 1h);
    EXPECT_FALSE(check.ok);
    EXPECT_EQ(check.detail.find("s3cret"), std::string::npos) << check.detail;
    EXPECT_NE(check.detail.find("refused"), std::string::npos) << check.detail;
}

TEST(PeriodicProbe, ProbesAgainEveryInterval) {
    std::atomic<int> calls{0};
    PeriodicProbe probe(
        "counted", [&] { return ++calls < 3 ? Status::error("down") : Status::ok(); }, 1ms);
    EXPECT_TRUE(eventually([&] { return probe.check(PeriodicProbe::Clock::now(), 1h).ok; }));
    EXPECT_GE(calls.load(), 3);
}

TEST(ReadinessMonitor, IsReadyOnlyWhenTheGroupIsJoinedTheSinkHealthyAndTheDatabaseAnswers) {
    pipeline::PipelineStats stats;
    std::atomic<bool> sink_up{false};
    ReadinessMonitor monitor(
        [] { return Status::ok(); },
        {{"products", &stats, [&] { return sink_up ? Status::ok() : Status::error("refused"); }}},
        {std::chrono::milliseconds(1), std::chrono::hours(1)});

    ASSERT_TRUE(eventually([&] {
        const auto report = monitor.report();
        return report.checks.size() == 4 && report.checks[0].ok && report.checks[2].detail == "refused";
    }));
    ReadinessReport report = monitor.report();
    EXPECT_FALSE(report.ready);
    EXPECT_EQ(report.checks[0].name, "database");
    EXPECT_EQ(report.checks[1].name, "pipeline products: consumer group");
    EXPECT_FALSE(report.checks[1].ok);
    EXPECT_EQ(report.checks[2].name, "pipeline products: sink");

    stats.assigned_partitions = 2;
    stats.group_joined = true;
    sink_up = true;
    EXPECT_TRUE(eventually([&] { return monitor.report().ready; }));
    EXPECT_EQ(monitor.report().checks[1].detail, "joined, 2 partitions assigned");

    sink_up = false;
    EXPECT_TRUE(eventually([&] { return !monitor.report().ready; }));
}

TEST(ReadinessMonitor, IsNotReadyWhileThePipelinesWritesArePausedAndSaysWhy) {
    pipeline::PipelineStats stats;
    stats.group_joined = true;
    ReadinessMonitor monitor([] { return Status::ok(); }, {{"products", &stats, [] { return Status::ok(); }}},
                             {std::chrono::milliseconds(1), std::chrono::hours(1)});
    ASSERT_TRUE(eventually([&] { return monitor.report().ready; }));
    EXPECT_EQ(monitor.report().checks.at(3).name, "pipeline products: writes");

    // The sink answers its probe, yet refuses the writes (a blocked index).
    stats.pause_reason.set("the sink asks to retry 3 op(s): HTTP 403: cluster_block_exception");
    stats.paused = true;
    ReadinessReport report = monitor.report();
    EXPECT_FALSE(report.ready);
    EXPECT_TRUE(report.checks.at(2).ok);
    EXPECT_FALSE(report.checks.at(3).ok);
    EXPECT_EQ(report.checks.at(3).detail,
              "paused: the sink asks to retry 3 op(s): HTTP 403: cluster_block_exception");

    stats.paused = false;
    EXPECT_TRUE(monitor.report().ready);
}

TEST(ReadinessMonitor, WithNothingToWatchIsReady) {
    ReadinessMonitor monitor(nullptr, {});
    EXPECT_TRUE(monitor.report().ready);
    EXPECT_TRUE(monitor.report().checks.empty());
}

TEST(ConnectionOption, IsAddedInTheFormOfTheConnectionString) {
    EXPECT_EQ(with_connection_option("postgresql://u@h/db", "connect_timeout", "5"),
              "postgresql://u@h/db?connect_timeout=5");
    EXPECT_EQ(with_connection_option("postgresql://u@h/db?sslmode=disable", "connect_timeout", "5"),
              "postgresql://u@h/db?sslmode=disable&connect_timeout=5");
    EXPECT_EQ(with_connection_option("host=h dbname=db", "connect_timeout", "5"),
              "host=h dbname=db connect_timeout=5");
}

}  // namespace
}  // namespace indexer::health
