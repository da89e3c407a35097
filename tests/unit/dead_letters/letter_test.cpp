#include <indexer/dead_letters/letter.hpp>
#include <indexer/kafka/dead_letter.hpp>

#include <gtest/gtest.h>

namespace indexer::dead_letters {
namespace {

kafka::Message original() {
    kafka::Message message;
    message.topic = "products";
    message.partition = 2;
    message.offset = 77;
    message.key = "42";
    message.value = R"({"id": 42})";
    message.headers = {{"trace", "abc"}, {"empty", std::nullopt}, {"trace", "def"}};
    return message;
}

// The dead letter as a consumer of the dead-letter topic receives it.
kafka::Message consumed(const kafka::OutgoingMessage& letter, std::int32_t partition, std::int64_t offset) {
    kafka::Message message;
    message.topic = letter.topic;
    message.partition = partition;
    message.offset = offset;
    message.key = letter.key;
    message.value = letter.value;
    message.headers = letter.headers;
    return message;
}

TEST(ReadLetter, SaysWhyAndWhereFromAndKeepsTheOriginalHeadersApart) {
    const auto written = kafka::make_dead_letter(original(), "products-dl", "products-es", "sink-reject",
                                                 "HTTP 400: mapper_parsing_exception");
    const Letter letter = read_letter(consumed(written, 1, 9));
    EXPECT_EQ(letter.partition, 1);
    EXPECT_EQ(letter.offset, 9);
    EXPECT_EQ(letter.pipeline, "products-es");
    EXPECT_EQ(letter.stage, "sink-reject");
    EXPECT_EQ(letter.reason, "HTTP 400: mapper_parsing_exception");
    EXPECT_EQ(letter.source_topic, "products");
    EXPECT_EQ(letter.source_partition, 2);
    EXPECT_EQ(letter.source_offset, 77);
    EXPECT_TRUE(letter.replayable());
    EXPECT_EQ(letter.original_headers, original().headers);
}

TEST(ReplayMessage, IsTheOriginalMessageForThePipelinesTopic) {
    const auto written = kafka::make_dead_letter(original(), "products-dl", "products-es", "parse", "why");
    const kafka::OutgoingMessage again = replay_message(read_letter(consumed(written, 0, 0)), "products");
    EXPECT_EQ(again.topic, "products");
    EXPECT_FALSE(again.partition);
    EXPECT_EQ(again.key, original().key);
    EXPECT_EQ(again.value, original().value);
    EXPECT_EQ(again.headers, original().headers);
}

TEST(ReplayMessage, KeepsAbsentKeyAndValueAbsent) {
    kafka::Message message = original();
    message.key.reset();
    message.value.reset();
    message.headers.clear();
    const auto written = kafka::make_dead_letter(message, "dl", "p", "parse", "value is empty");
    const kafka::OutgoingMessage again = replay_message(read_letter(consumed(written, 0, 0)), "products");
    EXPECT_FALSE(again.key);
    EXPECT_FALSE(again.value);
    EXPECT_TRUE(again.headers.empty());
}

TEST(ReadLetter, ALetterWithoutItsValueCannotBeReplayed) {
    kafka::Message message = original();
    message.value = std::string(2000, 'v');
    const auto written = kafka::make_dead_letter(message, "dl", "p", "parse", "too big", 1000);
    const Letter letter = read_letter(consumed(written, 0, 0));
    EXPECT_FALSE(letter.replayable());
    EXPECT_EQ(letter.left_out, std::vector<std::string>{"value"});
}

TEST(ReadLetter, ABareLetterCannotBeReplayedAndSaysWhatWasLeftOut) {
    const auto written = kafka::make_bare_dead_letter(original(), "dl", "p", "republish", "refused");
    const Letter letter = read_letter(consumed(written, 0, 0));
    EXPECT_FALSE(letter.replayable());
    EXPECT_EQ(letter.left_out, (std::vector<std::string>{"value", "key", "headers"}));
}

TEST(ReadLetter, AMessageWithoutTheIndexersHeadersHasNoPipeline) {
    kafka::Message message = original();
    const Letter letter = read_letter(message);
    EXPECT_EQ(letter.pipeline, "");
    EXPECT_EQ(letter.stage, "");
    EXPECT_FALSE(letter.source_offset);
    EXPECT_EQ(letter.original_headers, message.headers);
}

}  // namespace
}  // namespace indexer::dead_letters
