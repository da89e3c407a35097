#include <indexer/util/progress.hpp>

#include <gtest/gtest.h>

#include <algorithm>

#include <cstdio>
#include <string>

namespace indexer {
namespace {

using std::chrono::duration;
using std::chrono::seconds;

TEST(GroupThousands, SeparatesEveryThreeDigitsFromTheRight) {
    EXPECT_EQ(group_thousands(0), "0");
    EXPECT_EQ(group_thousands(999), "999");
    EXPECT_EQ(group_thousands(1000), "1,000");
    EXPECT_EQ(group_thousands(1234567), "1,234,567");
}

TEST(FormatDuration, ShowsHoursOnlyWhenThereAreAny) {
    EXPECT_EQ(format_duration(seconds(7)), "0:07");
    EXPECT_EQ(format_duration(seconds(754)), "12:34");
    EXPECT_EQ(format_duration(seconds(3723)), "1:02:03");
}

TEST(FormatProgress, ShowsCountPercentRateAndTimeLeftWithATotal) {
    EXPECT_EQ(format_progress(25'000, 100'000, "ids", duration<double>(5.0)),
              "25,000 / 100,000 ids   25%  5,000 ids/s  ETA 0:15");
}

TEST(FormatProgress, ShowsCountAndRateWithoutATotal) {
    EXPECT_EQ(format_progress(12'345, std::nullopt, "ids", duration<double>(2.0)), "12,345 ids  6,172 ids/s");
}

TEST(FormatProgress, LeavesOutRateAndTimeLeftBeforeAnyTimePassed) {
    EXPECT_EQ(format_progress(3, 10, "ids", duration<double>(0.0)), "3 / 10 ids   30%");
}

TEST(FormatProgress, LeavesOutTimeLeftWhenDone) {
    EXPECT_EQ(format_progress(10, 10, "rows", duration<double>(1.0)), "10 / 10 rows  100%  10 rows/s");
}

TEST(ProgressBar, WritesNothingWhenNotATerminal) {
    std::FILE* file = std::tmpfile();
    ASSERT_NE(file, nullptr);
    {
        ProgressBar bar("ids", 10, file);  // a file is not a terminal
        bar.advance(10);
        EXPECT_EQ(bar.done(), 10u);
    }
    EXPECT_EQ(std::ftell(file), 0);
    std::fclose(file);
}

TEST(ProgressBar, EndsWithTheFinalCountAndANewlineWhenForced) {
    std::FILE* file = std::tmpfile();
    ASSERT_NE(file, nullptr);
    {
        ProgressBar bar("ids", 4, file, true);
        for (int i = 0; i < 4; ++i) bar.advance();
        bar.finish();
        bar.finish();  // idempotent: the final line is written once
    }
    std::rewind(file);
    std::string written;
    char buffer[256];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file)) written.append(buffer, n);
    std::fclose(file);
    const std::string last = written.substr(written.rfind('\r') + 1);
    EXPECT_EQ(last.rfind("4 / 4 ids  100%", 0), 0u) << written;
    EXPECT_EQ(written.back(), '\n');
    EXPECT_EQ(std::count(written.begin(), written.end(), '\n'), 1);
}

}  // namespace
}  // namespace indexer
