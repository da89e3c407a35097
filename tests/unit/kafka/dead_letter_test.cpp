#include <indexer/kafka/dead_letter.hpp>

#include <gtest/gtest.h>

namespace indexer::kafka {
namespace {

Message original_message() {
    Message message;
    message.topic = "products";
    message.partition = 3;
    message.offset = 1234;
    message.key = "42";
    message.value = R"({"id": true})";
    message.headers = {{"trace", "abc"}, {"empty", std::nullopt}};
    return message;
}

TEST(MakeDeadLetter, CopiesKeyValueAndHeadersThenSaysWhyAndWhereFrom) {
    const OutgoingMessage letter =
        make_dead_letter(original_message(), "products-dlq", "products-es", "parse",
                         "field \"id\" is a boolean, expected an integer or a string");
    EXPECT_EQ(letter.topic, "products-dlq");
    EXPECT_FALSE(letter.partition);
    EXPECT_EQ(letter.key, "42");
    EXPECT_EQ(letter.value, R"({"id": true})");
    const Headers expected{{"trace", "abc"},
                           {"empty", std::nullopt},
                           {"indexer.reason", "field \"id\" is a boolean, expected an integer or a string"},
                           {"indexer.source.topic", "products"},
                           {"indexer.source.partition", "3"},
                           {"indexer.source.offset", "1234"},
                           {"indexer.pipeline", "products-es"},
                           {"indexer.stage", "parse"}};
    EXPECT_EQ(letter.headers, expected);
}

TEST(MakeDeadLetter, KeepsNullKeyAndValueNull) {
    Message message = original_message();
    message.key.reset();
    message.value.reset();
    const OutgoingMessage letter = make_dead_letter(message, "dlq", "p", "parse", "value is empty");
    EXPECT_FALSE(letter.key);
    EXPECT_FALSE(letter.value);
}

TEST(MakeDeadLetter, OursAreTheLastHeadersWhenAMessageIsDeadLetteredTwice) {
    Message message = original_message();
    message.headers = {{"indexer.reason", "old reason"}};
    const OutgoingMessage letter = make_dead_letter(message, "dlq", "p", "sink-reject", "new reason");
    const Header* reason = find_header(letter.headers, dead_letter_header::reason);
    ASSERT_NE(reason, nullptr);
    EXPECT_EQ(reason->value, "new reason");
}

}  // namespace
}  // namespace indexer::kafka
