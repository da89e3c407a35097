// The messages `indexer publish` and the client library send for an id: what
// the indexer's own parser (kafka::extract_id) must read back exactly.
#include <indexer/kafka/message_id.hpp>
#include <indexer/publish/announcement.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace indexer::publish {
namespace {

using kafka::IdKind;
using kafka::MessageId;
using nlohmann::json;

MessageId integer(std::string text) {
    return {std::move(text), IdKind::integer};
}
MessageId text(std::string value) {
    return {std::move(value), IdKind::string};
}

TEST(IdFromText, ReadsCanonicalInt64TextAsInteger) {
    for (const char* id : {"0", "42", "-7", "9223372036854775807", "-9223372036854775808"}) {
        const auto parsed = id_from_text(id);
        ASSERT_TRUE(parsed) << id << ": " << parsed.error();
        EXPECT_EQ(parsed.value(), integer(id));
    }
}

TEST(IdFromText, KeepsEveryOtherTextAsString) {
    // Beyond int64, leading zeros, signs and spaces: sending them as numbers would change the id.
    for (const char* id : {"9223372036854775808", "-9223372036854775809", "18446744073709551615", "007", "-0",
                           "+1", "1.5", "1e3", " 1", "sku-1", "6f1c2a7e-0000-4000-8000-000000000001"}) {
        const auto parsed = id_from_text(id);
        ASSERT_TRUE(parsed) << id << ": " << parsed.error();
        EXPECT_EQ(parsed.value(), text(id));
    }
}

TEST(IdFromText, RefusesEmptyTextAndInvalidUtf8) {
    EXPECT_EQ(id_from_text("").error(), "id is empty");
    EXPECT_EQ(id_from_text("ab\xff").error(), "id is not valid UTF-8");
    EXPECT_EQ(id_from_text("\xc3").error(), "id is not valid UTF-8");
}

TEST(CheckId, AcceptsUnsignedIntegersBeyondInt64FromTheClientLibrary) {
    EXPECT_TRUE(check_id(integer("18446744073709551615")));
    EXPECT_FALSE(check_id(integer("18446744073709551616")));
    EXPECT_FALSE(check_id(integer("-9223372036854775809")));
    EXPECT_FALSE(check_id(integer("007")));
    EXPECT_FALSE(check_id(integer("12a")));
    EXPECT_FALSE(check_id(text("")));
}

TEST(InstantValue, WritesIntegerIdsAsJsonNumbers) {
    EXPECT_EQ(instant_value(integer("42"), "id"), R"({"id":42})");
    EXPECT_EQ(instant_value(integer("-9223372036854775808"), "id"), R"({"id":-9223372036854775808})");
    EXPECT_EQ(instant_value(integer("18446744073709551615"), "id"), R"({"id":18446744073709551615})");
}

TEST(InstantValue, WritesOtherIdsAsJsonStrings) {
    EXPECT_EQ(instant_value(text("sku-1"), "id"), R"({"id":"sku-1"})");
    EXPECT_EQ(instant_value(text("007"), "id"), R"({"id":"007"})");
}

TEST(InstantValue, EscapesQuotesBackslashesAndControlCharacters) {
    EXPECT_EQ(instant_value(text("a\"b\\c"), "id"), R"({"id":"a\"b\\c"})");
    EXPECT_EQ(instant_value(text("tab\there\nnl"), "id"), R"({"id":"tab\there\nnl"})");
    EXPECT_EQ(instant_value(text(std::string("nul\0x", 5)), "id"), R"({"id":"nul\u0000x"})");
}

TEST(InstantValue, KeepsUnicodeAsUtf8) {
    EXPECT_EQ(instant_value(text("ünï-€-😀"), "id"), "{\"id\":\"ünï-€-😀\"}");
}

TEST(InstantValue, UsesTheConfiguredIdField) {
    EXPECT_EQ(instant_value(integer("42"), "product_id"), R"({"product_id":42})");
    EXPECT_EQ(instant_value(integer("42"), "we\"ird"), R"({"we\"ird":42})");
}

TEST(DelayValue, WrapsThePayloadWithCreatedAtInSeconds) {
    EXPECT_EQ(delay_value(integer("42"), "id", 1700000000),
              R"({"payload":{"id":42},"created_at":1700000000})");
    EXPECT_EQ(delay_value(text("a\"b"), "sku", 1), R"({"payload":{"sku":"a\"b"},"created_at":1})");
}

TEST(DelayValue, IsValidJsonWithAnIntegerCreatedAt) {
    const json value = json::parse(delay_value(text("ünï"), "id", 1700000123));
    EXPECT_EQ(value["payload"]["id"], "ünï");
    ASSERT_TRUE(value["created_at"].is_number_integer());
    EXPECT_EQ(value["created_at"].get<std::int64_t>(), 1700000123);
}

// The indexer reads back exactly the id that was announced, from both messages.
TEST(Announcement, RoundTripsThroughTheIndexersIdParser) {
    for (const MessageId& id : {integer("42"), integer("-7"), integer("18446744073709551615"), text("007"),
                                text("a\"b\\c"), text("ünï 😀"), text("18446744073709551616")}) {
        const auto from_instant = kafka::extract_id(id.text, instant_value(id, "id"));
        ASSERT_TRUE(from_instant) << from_instant.error();
        EXPECT_EQ(from_instant.value(), id);
        const auto from_delay = kafka::extract_id(id.text, delay_value(id, "id", 1700000000));
        ASSERT_TRUE(from_delay) << from_delay.error();
        EXPECT_EQ(from_delay.value(), id);
    }
}

TEST(DefaultDelayTopic, AppendsDelayAsKafkaSyncDoes) {
    EXPECT_EQ(default_delay_topic("products"), "products-delay");
}

}  // namespace
}  // namespace indexer::publish
