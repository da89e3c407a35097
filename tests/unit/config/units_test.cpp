#include <indexer/config/units.hpp>

#include <gtest/gtest.h>

using indexer::config::Duration;
using indexer::config::format_duration;
using indexer::config::format_size;
using indexer::config::parse_duration;
using indexer::config::parse_size;
using namespace std::chrono_literals;

TEST(ParseDuration, ReadsEachUnit) {
    EXPECT_EQ(parse_duration("500ms"), Duration{500ms});
    EXPECT_EQ(parse_duration("5s"), Duration{5s});
    EXPECT_EQ(parse_duration("5m"), Duration{5min});
    EXPECT_EQ(parse_duration("2h"), Duration{2h});
    EXPECT_EQ(parse_duration("1d"), Duration{24h});
}

TEST(ParseDuration, AddsCompoundParts) {
    EXPECT_EQ(parse_duration("1m30s"), Duration{90s});
    EXPECT_EQ(parse_duration("1h1m1s1ms"), Duration{3'661'001ms});
}

TEST(ParseDuration, ReadsZeroWithOrWithoutUnit) {
    EXPECT_EQ(parse_duration("0"), Duration{0});
    EXPECT_EQ(parse_duration("0s"), Duration{0});
}

TEST(ParseDuration, RejectsBareNumbersFractionsSignsAndUnknownUnits) {
    for (const char* text : {"5", "", "1.5s", "-5s", "+5s", "5 s", "5sec", "5S", "ms", "5us", "s5", "5m30"}) {
        EXPECT_EQ(parse_duration(text), std::nullopt) << text;
    }
}

TEST(ParseDuration, RejectsValuesThatOverflow) {
    EXPECT_EQ(parse_duration("99999999999999999999ms"), std::nullopt);
    EXPECT_EQ(parse_duration("999999999999999d"), std::nullopt);
}

TEST(FormatDuration, WritesTheShortestFormThatReadsBack) {
    EXPECT_EQ(format_duration(Duration{0}), "0s");
    EXPECT_EQ(format_duration(Duration{500ms}), "500ms");
    EXPECT_EQ(format_duration(Duration{5min}), "5m");
    EXPECT_EQ(format_duration(Duration{90s}), "1m30s");
    EXPECT_EQ(format_duration(Duration{1'500ms}), "1s500ms");
    for (const Duration value : {Duration{1ms}, Duration{61'001ms}, Duration{7 * 24h}}) {
        EXPECT_EQ(parse_duration(format_duration(value)), value);
    }
}

TEST(ParseSize, ReadsDecimalAndBinaryUnits) {
    EXPECT_EQ(parse_size("100"), 100U);
    EXPECT_EQ(parse_size("100B"), 100U);
    EXPECT_EQ(parse_size("5kB"), 5'000U);
    EXPECT_EQ(parse_size("5KB"), 5'000U);
    EXPECT_EQ(parse_size("5MB"), 5'000'000U);
    EXPECT_EQ(parse_size("1GB"), 1'000'000'000U);
    EXPECT_EQ(parse_size("5KiB"), 5U * 1024);
    EXPECT_EQ(parse_size("5MiB"), 5U * 1024 * 1024);
    EXPECT_EQ(parse_size("2GiB"), 2ULL * 1024 * 1024 * 1024);
    EXPECT_EQ(parse_size("1TiB"), 1ULL << 40);
    EXPECT_EQ(parse_size("5 MiB"), 5U * 1024 * 1024);
}

TEST(ParseSize, RejectsGarbageAndOverflow) {
    for (const char* text : {"", "MiB", "5XB", "1.5MiB", "-1", "5  MiB", "5 ", "20000000TiB"}) {
        EXPECT_EQ(parse_size(text), std::nullopt) << text;
    }
}

TEST(FormatSize, UsesTheLargestExactBinaryUnit) {
    EXPECT_EQ(format_size(5U * 1024 * 1024), "5MiB");
    EXPECT_EQ(format_size(3072), "3KiB");
    EXPECT_EQ(format_size(1536), "1536B");
    EXPECT_EQ(format_size(1000), "1000B");
    EXPECT_EQ(format_size(0), "0B");
}
