#include <indexer/plugin/sink_handle.hpp>
#include <indexer/plugin/sink_plugin.hpp>

#include "support/stopped_write.hpp"
#include "test_plugins.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using indexer::plugin::OpKind;
using indexer::plugin::OpStatus;
using indexer::plugin::SinkHandle;
using indexer::plugin::SinkOp;
using indexer::plugin::SinkPlugin;
using indexer::plugin::WriteControl;
using Clock = std::chrono::steady_clock;
using indexer::testing::test_plugin;
using std::chrono::milliseconds;
using testing::HasSubstr;

namespace {

// Replaces the default logger while alive, keeping what is logged.
class LogCapture {
public:
    LogCapture() : previous_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
        auto logger = std::make_shared<spdlog::logger>("log_capture", sink);
        logger->set_pattern("%l %v");
        spdlog::set_default_logger(logger);
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    std::string text() const { return stream_.str(); }
    std::size_t lines_containing(const std::string& needle) const {
        std::istringstream lines(stream_.str());
        std::size_t count = 0;
        for (std::string line; std::getline(lines, line);) count += line.find(needle) != std::string::npos;
        return count;
    }

private:
    std::ostringstream stream_;
    std::shared_ptr<spdlog::logger> previous_;
};

std::shared_ptr<const SinkPlugin> load(const std::string& name) {
    auto plugin = SinkPlugin::load(test_plugin(name));
    if (!plugin) throw std::runtime_error(plugin.error());
    return std::move(plugin).value();
}

SinkHandle open(const std::string& name, const std::string& config = "{}") {
    auto handle = load(name)->open("test-pipeline", config);
    if (!handle) throw std::runtime_error(handle.error());
    return std::move(handle).value();
}

std::vector<SinkOp> upserts(std::size_t count) {
    static const std::vector<std::string> ids = {"1", "2", "3", "4", "5", "6", "7", "8"};
    std::vector<SinkOp> ops;
    for (std::size_t i = 0; i < count; ++i)
        ops.push_back({OpKind::Upsert, ids.at(i), R"({"n":1})", i + 1, {}});
    return ops;
}

TEST(SinkHandle, WritesEveryOpAndReturnsOneResultPerOp) {
    SinkHandle sink = open("test_recorder");
    const std::vector<SinkOp> ops = {{OpKind::Upsert, "42", R"({"name":"lamp"})", 7, {}},
                                     {OpKind::Delete, "43", {}, 0, {}}};

    const auto results = sink.write(ops);

    ASSERT_EQ(results.size(), 2U);
    for (const auto& result : results) {
        EXPECT_EQ(result.status, OpStatus::Ok);
        EXPECT_EQ(result.native_code, 200);
        EXPECT_EQ(result.message, "");
    }
}

TEST(SinkHandle, CarriesTheRejectReasonAndNativeCodeOfEachOp) {
    SinkHandle sink = open("test_recorder", R"({"reject_ids": ["2"]})");

    const auto results = sink.write(upserts(3));

    ASSERT_EQ(results.size(), 3U);
    EXPECT_EQ(results[0].status, OpStatus::Ok);
    EXPECT_EQ(results[1].status, OpStatus::Reject);
    EXPECT_EQ(results[1].native_code, 400);
    EXPECT_EQ(results[1].message, "id 2 is on the reject list");
    EXPECT_EQ(results[2].status, OpStatus::Ok);
}

TEST(SinkHandle, EmptyBatchGivesNoResults) {
    SinkHandle sink = open("test_recorder");

    EXPECT_TRUE(sink.write({}).empty());
}

TEST(SinkHandle, OpenErrorNamesTheInstanceAndCarriesThePluginsReason) {
    const auto handle = load("broken_open_fails")->open("products-pipeline", R"({"hosts": "x"})");

    ASSERT_FALSE(handle.is_ok());
    EXPECT_THAT(handle.error(), HasSubstr("products-pipeline"));
    EXPECT_THAT(handle.error(), HasSubstr("broken_open_fails"));
    EXPECT_THAT(handle.error(), HasSubstr("config.hosts: expected an array of URLs"));
}

TEST(SinkHandle, OpenErrorOfAnInvalidConfigIsTheSinksOwnValidationMessage) {
    const auto plugin = load("test_recorder");

    const auto unknown_key = plugin->open("p", R"({"this_key_does_not_exist": 1})");
    const auto not_an_object = plugin->open("p", "[]");

    ASSERT_FALSE(unknown_key.is_ok());
    EXPECT_THAT(unknown_key.error(), HasSubstr("config.this_key_does_not_exist: unknown key"));
    ASSERT_FALSE(not_an_object.is_ok());
    EXPECT_THAT(not_an_object.error(), HasSubstr("config: expected a JSON object"));
}

TEST(SinkHandle, ExceptionThrownByWriteBecomesRetryForOpsNotAnsweredYet) {
    SinkHandle sink = open("broken_write_throws");

    const auto results = sink.write(upserts(4));

    ASSERT_EQ(results.size(), 4U);
    EXPECT_EQ(results[0].status, OpStatus::Ok);
    for (std::size_t i = 1; i < results.size(); ++i) {
        EXPECT_EQ(results[i].status, OpStatus::Retry) << i;
        EXPECT_THAT(results[i].message, HasSubstr("backend exploded mid-batch")) << i;
    }
}

TEST(SinkHandle, ResultsLeftUnsetBecomeRetrySayingSoAndAreLoggedOnce) {
    SinkHandle sink = open("broken_unset_result");
    LogCapture log;

    const auto results = sink.write(upserts(5));

    ASSERT_EQ(results.size(), 5U);
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (i % 2 == 0) {
            EXPECT_EQ(results[i].status, OpStatus::Ok) << i;
        } else {
            EXPECT_EQ(results[i].status, OpStatus::Retry) << i;
            EXPECT_THAT(results[i].message, HasSubstr("left the result unset")) << i;
        }
    }
    EXPECT_EQ(sink.results_left_unset(), 2U);
    EXPECT_EQ(log.lines_containing("left 2 of 5 results unset"), 1U) << log.text();
    EXPECT_EQ(log.lines_containing("error"), 1U) << log.text();
}

TEST(SinkHandle, InvalidStatusFromThePluginBecomesRetry) {
    SinkHandle sink = open("test_raw");
    const std::vector<SinkOp> ops = {{OpKind::Upsert, "bad-status", "{}", 0, {}}};

    const auto results = sink.write(ops);

    ASSERT_EQ(results.size(), 1U);
    EXPECT_EQ(results[0].status, OpStatus::Retry);
    EXPECT_THAT(results[0].message, HasSubstr("invalid status 42"));
    EXPECT_EQ(sink.results_with_invalid_status(), 1U);
    EXPECT_EQ(sink.results_left_unset(), 0U);
}

TEST(SinkHandle, AnExceptionThatIsNoStdExceptionAlsoBecomesRetry) {
    SinkHandle sink = open("broken_write_throws_int");

    const auto results = sink.write(upserts(2));

    ASSERT_EQ(results.size(), 2U);
    EXPECT_EQ(results[0].status, OpStatus::Ok);
    EXPECT_EQ(results[1].status, OpStatus::Retry);
    EXPECT_THAT(results[1].message, HasSubstr("sink threw an unknown exception"));
}

// --- the write's deadline and stop (ABI 1.1) ---------------------------------

std::vector<SinkOp> waiting_batch() {
    return {{OpKind::Upsert, "wait", "{}", 0, {}},
            {OpKind::Upsert, "b", "{}", 0, {}},
            {OpKind::Delete, "c", {}, 0, {}}};
}

// The interruptible fixture, told to set `entered` when its write starts waiting.
SinkHandle open_interruptible(const std::atomic<bool>& entered) {
    return open("test_interruptible",
                "{\"announce_to\": " + std::to_string(reinterpret_cast<std::uintptr_t>(&entered)) + "}");
}

TEST(SinkHandleWriteControl, APluginBuiltForAbi10StillWritesThroughPlainWrite) {
    SinkHandle sink = open("test_abi_1_0");
    const std::atomic<bool> stop{false};

    const auto results = sink.write(upserts(3), WriteControl{Clock::now() + std::chrono::seconds(5), &stop});

    EXPECT_FALSE(sink.has_write_control());
    ASSERT_EQ(results.size(), 3U);
    for (const auto& result : results) {
        EXPECT_EQ(result.status, OpStatus::Ok);
        EXPECT_EQ(result.native_code, 10);  // the 1.0 plugin's own write answered
    }
}

TEST(SinkHandleWriteControl, ThePluginReceivesTheDeadline) {
    SinkHandle sink = open("test_interruptible");
    const std::vector<SinkOp> ops = {{OpKind::Upsert, "deadline", "{}", 0, {}}};

    const auto bounded = sink.write(ops, WriteControl{Clock::now() + milliseconds(2000), nullptr});
    const auto unbounded = sink.write(ops);

    ASSERT_EQ(bounded.size(), 1U);
    EXPECT_EQ(bounded[0].status, OpStatus::Ok);
    EXPECT_LE(bounded[0].native_code, 2000);
    EXPECT_GE(bounded[0].native_code, 1500);
    EXPECT_EQ(unbounded[0].native_code, -1);  // no deadline reached the plugin
}

TEST(SinkHandleWriteControl, StopReturnsAWaitingWriteWithin100MsAndItsUnfinishedOpsRetry) {
    std::atomic<bool> entered{false};
    SinkHandle sink = open_interruptible(entered);
    const auto ops = waiting_batch();

    const auto stopped = indexer::testing::stop_write_under_way(sink, ops, [&] { return entered.load(); });

    ASSERT_TRUE(stopped.was_under_way);
    EXPECT_LT(stopped.after_stop, milliseconds(100));
    const auto& results = stopped.results;
    ASSERT_EQ(results.size(), 3U);
    EXPECT_EQ(results[0].status, OpStatus::Ok);  // answered before the stop: kept
    for (std::size_t i = 1; i < results.size(); ++i) {
        EXPECT_EQ(results[i].status, OpStatus::Retry) << i;
        EXPECT_THAT(results[i].message, HasSubstr("the host asked the write to stop")) << i;
    }
    EXPECT_EQ(sink.results_left_unset(), 0U);
}

TEST(SinkHandleWriteControl, TheDeadlineReturnsAWaitingWriteWithItsUnfinishedOpsRetry) {
    const std::atomic<bool> entered{false};
    SinkHandle sink = open_interruptible(entered);
    const auto started = Clock::now();

    const auto results = sink.write(waiting_batch(), WriteControl{started + milliseconds(300), nullptr});

    const auto took = Clock::now() - started;
    EXPECT_GE(took, milliseconds(290));
    EXPECT_LT(took, milliseconds(500));
    ASSERT_EQ(results.size(), 3U);
    EXPECT_EQ(results[0].status, OpStatus::Ok);
    for (std::size_t i = 1; i < results.size(); ++i) {
        EXPECT_EQ(results[i].status, OpStatus::Retry) << i;
        EXPECT_THAT(results[i].message, HasSubstr("deadline passed")) << i;
    }
}

TEST(SinkHandleWriteControl, AStopAlreadySetCallsNoPluginAndEveryOpRetries) {
    SinkHandle current = open("test_recorder");
    SinkHandle old = open("test_abi_1_0");
    const std::atomic<bool> stop{true};

    for (SinkHandle* sink : {&current, &old}) {
        const auto results = sink->write(upserts(2), WriteControl{Clock::time_point::max(), &stop});

        ASSERT_EQ(results.size(), 2U);
        for (const auto& result : results) {
            EXPECT_EQ(result.status, OpStatus::Retry);
            EXPECT_EQ(result.native_code, 0);
            EXPECT_EQ(result.message, "write not started: the host asked the sink to stop");
        }
    }
}

TEST(SinkHandleWriteControl, ADeadlineAlreadyPassedCallsNoPluginAndEveryOpRetries) {
    SinkHandle sink = open("test_abi_1_0");

    const auto results = sink.write(upserts(2), WriteControl{Clock::now() - milliseconds(1), nullptr});

    ASSERT_EQ(results.size(), 2U);
    for (const auto& result : results) {
        EXPECT_EQ(result.status, OpStatus::Retry);
        EXPECT_THAT(result.message, HasSubstr("deadline had passed"));
    }
}

TEST(SinkHandle, PluginLogLinesAreTaggedWithThePluginName) {
    LogCapture log;

    SinkHandle c_sink = open("test_raw");
    SinkHandle cpp_sink = open("test_recorder");

    EXPECT_EQ(log.lines_containing("[sink test_raw] opened for test-pipeline"), 1U) << log.text();
    EXPECT_EQ(log.lines_containing("[sink test_recorder] recorder opened for test-pipeline"), 1U)
        << log.text();
}

TEST(SinkHandle, PluginsBuiltWithDefaultVisibilityKeepTheirOwnLogTag) {
    // Both are loaded (and initialised) before either logs.
    const auto a = load("test_default_visibility_a");
    const auto b = load("test_default_visibility_b");
    LogCapture log;

    auto sink = a->open("test-pipeline", "{}");

    ASSERT_TRUE(sink.is_ok()) << sink.error();
    EXPECT_EQ(log.lines_containing("[sink test_default_visibility_a] recorder opened"), 1U) << log.text();
    EXPECT_EQ(log.lines_containing("[sink test_default_visibility_b]"), 0U) << log.text();
}

TEST(SinkHandle, HealthFailureNamesTheInstanceAndThePluginsReason) {
    SinkHandle sink = open("test_raw");

    const auto health = sink.health();

    ASSERT_FALSE(health.is_ok());
    EXPECT_THAT(health.message(), HasSubstr("test-pipeline"));
    EXPECT_THAT(health.message(), HasSubstr("backend of test-pipeline unreachable (test)"));
    EXPECT_TRUE(sink.flush().is_ok());
}

TEST(SinkHandle, FlushAndHealthAreOkWhenThePluginHasNone) {
    SinkHandle sink = open("test_short_table");

    EXPECT_FALSE(sink.has_flush());
    EXPECT_FALSE(sink.has_health());
    EXPECT_TRUE(sink.flush().is_ok());
    EXPECT_TRUE(sink.health().is_ok());
}

TEST(SinkHandle, KeepsThePluginLoadedAfterTheLoaderDroppedIt) {
    auto handle = load("test_recorder")->open("p", "{}");
    ASSERT_TRUE(handle.is_ok()) << handle.error();

    const auto results = handle->write(upserts(1));

    ASSERT_EQ(results.size(), 1U);
    EXPECT_EQ(results[0].status, OpStatus::Ok);
}

TEST(SinkHandle, APluginOpensManyIndependentHandles) {
    const auto plugin = load("test_recorder");
    auto plain = plugin->open("a", "{}");
    auto rejecting = plugin->open("b", R"({"reject_ids": ["1"]})");
    ASSERT_TRUE(plain.is_ok() && rejecting.is_ok());

    EXPECT_EQ(plain->write(upserts(1))[0].status, OpStatus::Ok);
    EXPECT_EQ(rejecting->write(upserts(1))[0].status, OpStatus::Reject);
}

TEST(SinkHandle, MovedFromHandleIsClosedAndAnswersRetry) {
    SinkHandle first = open("test_recorder");
    SinkHandle second = std::move(first);

    const auto results =
        first.write(upserts(1));  // NOLINT(bugprone-use-after-move): the behaviour under test

    EXPECT_FALSE(first.is_open());
    EXPECT_TRUE(second.is_open());
    ASSERT_EQ(results.size(), 1U);
    EXPECT_EQ(results[0].status, OpStatus::Retry);
    EXPECT_THAT(results[0].message, HasSubstr("closed"));
    EXPECT_EQ(second.write(upserts(1))[0].status, OpStatus::Ok);
}

}  // namespace
