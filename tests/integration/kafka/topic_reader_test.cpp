#include "kafka_fixture.hpp"

#include <indexer/kafka/topic_reader.hpp>

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace indexer::kafka {
namespace {

using indexer::testing::create_test_topic;
using indexer::testing::kafka_client;
using indexer::testing::produce_all;
using indexer::testing::text_message;
using indexer::testing::unique_name;
using namespace std::chrono_literals;

std::vector<PartitionOffsets> offsets_of(const std::string& brokers, const std::string& topic) {
    auto admin = Admin::create(kafka_client(brokers));
    EXPECT_TRUE(admin) << admin.error();
    auto offsets = admin.value()->offsets(topic, std::nullopt, 10s);
    EXPECT_TRUE(offsets) << offsets.error();
    return offsets ? offsets.value() : std::vector<PartitionOffsets>{};
}

TEST(TopicReader, ReadsEveryPartitionToTheEndOffsetsSeenAtTheStartAndNoFurther) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "reader", 3);
    std::vector<OutgoingMessage> messages;
    for (int i = 0; i < 30; ++i)
        messages.push_back(text_message(topic, std::to_string(i), "v" + std::to_string(i), {{"h", "x"}}));
    produce_all(brokers, messages);
    const auto partitions = offsets_of(brokers, topic);
    // Messages produced after the offsets were taken are not read.
    produce_all(brokers, {text_message(topic, "late", "late")});

    auto reader = TopicReader::create(kafka_client(brokers), unique_name("reader-group"));
    ASSERT_TRUE(reader) << reader.error();
    std::set<std::string> keys;
    std::map<std::int32_t, std::int64_t> last_offset;
    bool in_order = true;
    const Status read = reader.value()->read(
        topic, partitions,
        [&](Message&& message) {
            keys.insert(message.key.value_or(""));
            const auto previous = last_offset.find(message.partition);
            if (previous != last_offset.end() && previous->second >= message.offset) in_order = false;
            last_offset[message.partition] = message.offset;
            EXPECT_EQ(message.headers, (Headers{{"h", "x"}}));
            return Status::ok();
        },
        30s);
    ASSERT_TRUE(read) << read.message();
    EXPECT_EQ(keys.size(), 30u);
    EXPECT_FALSE(keys.contains("late"));
    EXPECT_TRUE(in_order);
}

TEST(TopicReader, StopsAtTheFirstErrorOfTheCallback) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "reader-stop", 1);
    produce_all(brokers, {text_message(topic, "a", "1"), text_message(topic, "b", "2"),
                          text_message(topic, "c", "3")});
    auto reader = TopicReader::create(kafka_client(brokers), unique_name("reader-group"));
    ASSERT_TRUE(reader) << reader.error();
    int calls = 0;
    const Status read = reader.value()->read(
        topic, offsets_of(brokers, topic),
        [&](Message&&) { return ++calls == 2 ? Status::error("enough") : Status::ok(); }, 30s);
    EXPECT_FALSE(read);
    EXPECT_EQ(read.message(), "enough");
    EXPECT_EQ(calls, 2);
}

TEST(TopicReader, CommitsOffsetsWithTheirMetadataUnderAGroupItNeverJoins) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "reader-commit", 2);
    produce_all(brokers, {text_message(topic, "a", "1"), text_message(topic, "b", "2")});
    const std::string group = unique_name("reader-group");
    {
        auto reader = TopicReader::create(kafka_client(brokers), group);
        ASSERT_TRUE(reader) << reader.error();
        auto none = reader.value()->committed(topic, {0, 1}, 10s);
        ASSERT_TRUE(none) << none.error();
        EXPECT_TRUE(none->empty());
        const Status committed = reader.value()->commit(topic, {{0, {1, "pending=0"}}, {1, {1, ""}}});
        ASSERT_TRUE(committed) << committed.message();
    }
    // Another process (a new reader) finds them.
    auto reader = TopicReader::create(kafka_client(brokers), group);
    ASSERT_TRUE(reader) << reader.error();
    auto found = reader.value()->committed(topic, {0, 1}, 10s);
    ASSERT_TRUE(found) << found.error();
    ASSERT_EQ(found->size(), 2u);
    EXPECT_EQ(found->at(0).next_offset, 1);
    EXPECT_EQ(found->at(0).metadata, "pending=0");
    EXPECT_EQ(found->at(1).next_offset, 1);
    EXPECT_EQ(found->at(1).metadata, "");
}

}  // namespace
}  // namespace indexer::kafka
