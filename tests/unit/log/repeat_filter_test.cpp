#include <indexer/log/repeat_filter.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace indexer::log {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using Clock = RepeatFilter::Clock;

const Clock::time_point t0{};

TEST(RepeatFilter, LogsTheFirstLineAndCountsItsRepeatsWithinTheWindow) {
    RepeatFilter filter(30s);
    EXPECT_TRUE(filter.admit("connection refused", t0));
    EXPECT_FALSE(filter.admit("connection refused", t0 + 1s));
    EXPECT_FALSE(filter.admit("connection refused", t0 + 29s));
    EXPECT_TRUE(filter.admit("another error", t0 + 2s));
    EXPECT_THAT(filter.expire(t0 + 29s), IsEmpty());

    const auto repeated = filter.expire(t0 + 30s);
    ASSERT_EQ(repeated.size(), 1u);
    EXPECT_EQ(repeated[0].key, "connection refused");
    EXPECT_EQ(repeated[0].count, 2u);
}

TEST(RepeatFilter, LogsALineAgainOnceItsWindowIsOver) {
    RepeatFilter filter(30s);
    EXPECT_TRUE(filter.admit("x", t0));
    EXPECT_THAT(filter.expire(t0 + 31s), IsEmpty());  // never repeated: nothing to report
    EXPECT_TRUE(filter.admit("x", t0 + 31s));
    EXPECT_FALSE(filter.admit("x", t0 + 32s));
    // Without expire(), a line after the window still starts a new window.
    EXPECT_TRUE(filter.admit("x", t0 + 62s));
}

TEST(RepeatFilter, DrainReportsEveryPendingRepeat) {
    RepeatFilter filter(30s);
    filter.admit("a", t0);
    filter.admit("a", t0 + 1s);
    filter.admit("b", t0);
    EXPECT_THAT(filter.drain(), ElementsAre(Field(&RepeatFilter::Repeated::count, 1u)));
    EXPECT_THAT(filter.drain(), IsEmpty());
}

TEST(RepeatFilter, ForgetsTheOldestLinesBeyondItsCapacity) {
    RepeatFilter filter(30s, 2);
    filter.admit("a", t0);
    filter.admit("b", t0 + 1s);
    filter.admit("c", t0 + 2s);                // "a" is forgotten
    EXPECT_TRUE(filter.admit("a", t0 + 3s));   // so it is logged again
    EXPECT_FALSE(filter.admit("c", t0 + 4s));  // "c" is still tracked
}

TEST(RepeatFilterSink, PassesInfoLinesAndSuppressesRepeatedWarningsUntilReportedWithTheirCount) {
    std::ostringstream out;
    auto target = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    target->set_pattern("%l %v");
    {
        spdlog::logger logger("", make_repeat_filter_sink(target, 30s));
        logger.set_level(spdlog::level::info);
        for (int i = 0; i < 3; ++i) logger.info("batch done");
        for (int i = 0; i < 58; ++i) logger.error("products: connection refused");
        logger.warn("products: something else");
    }  // the sink reports pending repeats when it goes

    EXPECT_EQ(out.str(),
              "info batch done\n"
              "info batch done\n"
              "info batch done\n"
              "error products: connection refused\n"
              "warning products: something else\n"
              "error products: connection refused (repeated 57 more times in 30 s)\n");
}

TEST(OneLine, JoinsTheLinesOfAMessageWithOneSpace) {
    EXPECT_EQ(one_line("connection to server failed: Connection refused\n\tIs the server running?\n"),
              "connection to server failed: Connection refused Is the server running?");
    EXPECT_EQ(one_line("a\r\nb"), "a b");
    EXPECT_EQ(one_line("no break"), "no break");
}

TEST(RepeatFilterSink, WritesAMultiLineMessageAsOneLine) {
    std::ostringstream out;
    auto target = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    target->set_pattern("%l %v");
    {
        spdlog::logger logger("", make_repeat_filter_sink(target, 30s));
        logger.warn("failed:\n\tretrying");
    }
    EXPECT_EQ(out.str(), "warning failed: retrying\n");
}

}  // namespace
}  // namespace indexer::log
