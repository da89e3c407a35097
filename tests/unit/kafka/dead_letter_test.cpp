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

const std::optional<std::string>& header(const OutgoingMessage& letter, std::string_view key) {
    static const std::optional<std::string> absent;
    const Header* found = find_header(letter.headers, key);
    return found ? found->value : absent;
}

TEST(MakeDeadLetter, CapsTheReasonOnACharacterBoundaryAndSaysSo) {
    std::string reason = "x";
    for (int i = 0; i < 2000; ++i) reason += "\xc3\xa9";  // é
    const OutgoingMessage letter = make_dead_letter(original_message(), "dlq", "p", "parse", reason);
    const std::string& capped = *header(letter, "indexer.reason");
    EXPECT_LE(capped.size(), max_reason_bytes + 40);
    EXPECT_TRUE(capped.ends_with("... (truncated from 4001 bytes)")) << capped.substr(capped.size() - 40);
    // 1 + 2k bytes: the cut falls after a whole "é".
    EXPECT_EQ(capped.substr(0, capped.find("...")).size() % 2, 1U);
    EXPECT_EQ(header(make_dead_letter(original_message(), "dlq", "p", "parse", "short"), "indexer.reason"),
              "short");
}

TEST(MakeDeadLetter, LeavesOutAValueThatWouldNotFitAndSaysItsSize) {
    Message message = original_message();
    message.value = std::string(999'900, 'v');
    const OutgoingMessage letter = make_dead_letter(message, "dlq", "p", "parse", "field \"id\" missing");
    EXPECT_FALSE(letter.value);
    EXPECT_EQ(letter.key, "42");
    EXPECT_EQ(header(letter, "indexer.value.truncated"), "999900");
    EXPECT_EQ(header(letter, "trace"), "abc");
    EXPECT_EQ(header(letter, "indexer.source.offset"), "1234");
}

TEST(MakeDeadLetter, KeepsAValueThatFits) {
    Message message = original_message();
    message.value = std::string(900'000, 'v');
    const OutgoingMessage letter = make_dead_letter(message, "dlq", "p", "parse", "r");
    EXPECT_EQ(letter.value->size(), 900'000U);
    EXPECT_EQ(find_header(letter.headers, "indexer.value.truncated"), nullptr);
}

TEST(MakeDeadLetter, FollowsTheProducersLimit) {
    Message message = original_message();
    message.value = std::string(20'000, 'v');
    EXPECT_TRUE(make_dead_letter(message, "dlq", "p", "parse", "r").value);
    EXPECT_FALSE(make_dead_letter(message, "dlq", "p", "parse", "r", 10'000).value);
}

TEST(MakeDeadLetter, LeavesOutHugeHeadersAndKeyToo) {
    Message message = original_message();
    message.key = std::string(600'000, 'k');
    message.headers = {{"big", std::string(600'000, 'h')}};
    const OutgoingMessage letter = make_dead_letter(message, "dlq", "p", "parse", "r");
    EXPECT_FALSE(letter.value);
    EXPECT_EQ(find_header(letter.headers, "big"), nullptr);
    EXPECT_EQ(header(letter, "indexer.headers.truncated"), "600011");
    EXPECT_EQ(letter.key->size(), 600'000U);  // fits once the headers are gone
}

TEST(MakeBareDeadLetter, HasOnlyOurHeadersAndTheSizesOfWhatIsLeftOut) {
    const OutgoingMessage letter = make_bare_dead_letter(original_message(), "dlq", "p", "parse", "why");
    EXPECT_FALSE(letter.key);
    EXPECT_FALSE(letter.value);
    EXPECT_EQ(find_header(letter.headers, "trace"), nullptr);
    EXPECT_EQ(header(letter, "indexer.reason"), "why");
    EXPECT_EQ(header(letter, "indexer.value.truncated"), "12");
    EXPECT_EQ(header(letter, "indexer.key.truncated"), "2");
    EXPECT_EQ(header(letter, "indexer.source.partition"), "3");
}

}  // namespace
}  // namespace indexer::kafka
