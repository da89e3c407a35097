#include <indexer/kafka/message.hpp>

#include <gtest/gtest.h>

#include <cstdint>

namespace indexer::kafka {
namespace {

Message at(std::string topic, std::int32_t partition, std::int64_t offset) {
    Message message;
    message.topic = std::move(topic);
    message.partition = partition;
    message.offset = offset;
    return message;
}

TEST(NextOffsets, IsTheHighestOffsetPlusOnePerPartition) {
    const auto offsets =
        next_offsets({at("a", 0, 5), at("a", 1, 9), at("a", 0, 7), at("a", 0, 6), at("b", 0, 0)});
    const std::map<TopicPartition, std::int64_t> expected{{{"a", 0}, 8}, {{"a", 1}, 10}, {{"b", 0}, 1}};
    EXPECT_EQ(offsets, expected);
}

TEST(NextOffsets, IsEmptyForNoMessages) {
    EXPECT_TRUE(next_offsets({}).empty());
}

TEST(FindHeader, ReturnsTheLastHeaderOfAKey) {
    const Headers headers{{"a", "1"}, {"b", std::nullopt}, {"a", "2"}};
    ASSERT_NE(find_header(headers, "a"), nullptr);
    EXPECT_EQ(find_header(headers, "a")->value, "2");
    ASSERT_NE(find_header(headers, "b"), nullptr);
    EXPECT_FALSE(find_header(headers, "b")->value);
    EXPECT_EQ(find_header(headers, "c"), nullptr);
}

TEST(TopicPartitionToString, NamesTopicAndPartition) {
    EXPECT_EQ(to_string(TopicPartition{"products", 3}), "products[3]");
    EXPECT_EQ(to_string(std::vector<TopicPartition>{{"a", 0}, {"a", 2}}), "a[0], a[2]");
}

TEST(TimeFromTimestamp, IsTheMillisecondsSinceTheEpoch) {
    EXPECT_EQ(time_from_timestamp(1'700'000'000'123),
              std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123)));
    EXPECT_EQ(time_from_timestamp(0), std::chrono::system_clock::time_point());
}

TEST(TimeFromTimestamp, NegativeIsNoTimestamp) {
    EXPECT_FALSE(time_from_timestamp(-1));
    EXPECT_FALSE(time_from_timestamp(INT64_MIN));
}

TEST(TimeFromTimestamp, BeyondTheClocksRangeIsTheLatestTimeNotAWrappedOne) {
    using std::chrono::system_clock;
    EXPECT_EQ(time_from_timestamp(INT64_MAX), system_clock::time_point::max());
    // 2^63 ns is 9223372036854.775807 ms: the first millisecond past it.
    EXPECT_EQ(time_from_timestamp(9'223'372'036'855), system_clock::time_point::max());
    EXPECT_EQ(time_from_timestamp(9'223'372'036'854),
              system_clock::time_point(std::chrono::milliseconds(9'223'372'036'854)));
}

}  // namespace
}  // namespace indexer::kafka
