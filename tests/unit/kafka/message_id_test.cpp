#include <indexer/kafka/message_id.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace indexer::kafka {
namespace {

using std::nullopt;

MessageId id_of(const std::optional<std::string>& value, const std::optional<std::string>& key = nullopt,
                std::string_view field = "id") {
    auto id = extract_id(key, value, field);
    EXPECT_TRUE(id) << id.error();
    return id ? id.value() : MessageId{};
}

std::string error_of(const std::optional<std::string>& value, const std::optional<std::string>& key = nullopt,
                     std::string_view field = "id") {
    auto id = extract_id(key, value, field);
    EXPECT_FALSE(id) << "unexpected id " << (id ? id.value().text : "");
    return id ? "" : id.error();
}

TEST(ExtractId, TakesAnIntegerFromTheIdField) {
    EXPECT_EQ(id_of(R"({"id": 42})"), (MessageId{"42", IdKind::integer}));
    EXPECT_EQ(id_of(R"({"id": -7, "other": true})"), (MessageId{"-7", IdKind::integer}));
}

TEST(ExtractId, TakesAStringFromTheIdField) {
    EXPECT_EQ(id_of(R"({"id": "6f1c2b1e-8d2a-4f3e-9b7c-0a1b2c3d4e5f"})"),
              (MessageId{"6f1c2b1e-8d2a-4f3e-9b7c-0a1b2c3d4e5f", IdKind::string}));
    EXPECT_EQ(id_of(R"({"id": "sku 1 / ü"})"), (MessageId{"sku 1 / ü", IdKind::string}));
    EXPECT_EQ(id_of(R"({"id": "42"})"), (MessageId{"42", IdKind::string}));
}

TEST(ExtractId, KeepsIntegersBeyondDoublePrecisionExactly) {
    EXPECT_EQ(id_of(R"({"id": 9007199254740993})").text, "9007199254740993");          // 2^53 + 1
    EXPECT_EQ(id_of(R"({"id": 9223372036854775807})").text, "9223372036854775807");    // int64 max
    EXPECT_EQ(id_of(R"({"id": -9223372036854775808})").text, "-9223372036854775808");  // int64 min
    EXPECT_EQ(id_of(R"({"id": 18446744073709551615})").text, "18446744073709551615");  // uint64 max
    EXPECT_EQ(id_of("12345678901234567").text, "12345678901234567");
}

TEST(ExtractId, KeepsIntegersBeyondSixtyFourBitsDigitForDigit) {
    // The loader's id-type check decides whether the column can hold them.
    EXPECT_EQ(id_of(R"({"id": 18446744073709551616})"), (MessageId{"18446744073709551616", IdKind::integer}));
    const std::string digits(400, '7');
    EXPECT_EQ(id_of(R"({"id": )" + digits + "}"), (MessageId{digits, IdKind::integer}));
    EXPECT_EQ(id_of("-" + digits).text, "-" + digits);
    EXPECT_EQ(id_of("-0"), (MessageId{"0", IdKind::integer}));
}

TEST(ExtractId, UsesTheConfiguredField) {
    EXPECT_EQ(id_of(R"({"id": 1, "product_id": 2})", nullopt, "product_id").text, "2");
    EXPECT_EQ(error_of(R"({"id": 1})", nullopt, "product_id"), "field \"product_id\" missing");
}

TEST(ExtractId, AcceptsABareNumberOrString) {
    EXPECT_EQ(id_of("42"), (MessageId{"42", IdKind::integer}));
    EXPECT_EQ(id_of(" 42\n"), (MessageId{"42", IdKind::integer}));
    EXPECT_EQ(id_of(R"("abc-1")"), (MessageId{"abc-1", IdKind::string}));
}

TEST(ExtractId, TakesTheKeyWhenTheValueIsEmptyOrNull) {
    EXPECT_EQ(id_of(nullopt, "42"), (MessageId{"42", IdKind::integer}));
    EXPECT_EQ(id_of("", "-3"), (MessageId{"-3", IdKind::integer}));
    EXPECT_EQ(id_of("null", "abc"), (MessageId{"abc", IdKind::string}));
    EXPECT_EQ(id_of("  ", "007"), (MessageId{"007", IdKind::string}));  // not how JSON writes an integer
    EXPECT_EQ(id_of(nullopt, "6f1c2b1e-8d2a-4f3e-9b7c-0a1b2c3d4e5f").kind, IdKind::string);
}

TEST(ExtractId, IgnoresTheKeyWhenTheValueHasAnId) {
    EXPECT_EQ(id_of(R"({"id": 1})", "2").text, "1");
}

TEST(ExtractId, TakesTheIdFromTheKafkaSyncDelayWrappersPayload) {
    EXPECT_EQ(id_of(R"({"payload": {"id": 42}, "created_at": 1700000000})"),
              (MessageId{"42", IdKind::integer}));
    EXPECT_EQ(id_of(R"({"created_at": 1700000000.5, "payload": {"id": "a-b"}})"),
              (MessageId{"a-b", IdKind::string}));
    EXPECT_EQ(id_of(R"({"payload": 42, "created_at": 1})"), (MessageId{"42", IdKind::integer}));
}

TEST(ExtractId, SaysWhenTheWrappersPayloadHasNoId) {
    EXPECT_EQ(error_of(R"({"payload": {"name": "x"}, "created_at": 1})"),
              "field \"id\" missing in \"payload\"");
    EXPECT_EQ(error_of(R"({"payload": {"id": true}})"),
              "field \"id\" of \"payload\" is a boolean, expected an integer or a string");
    EXPECT_EQ(error_of(R"({"payload": [1]})"),
              "field \"payload\" is an array, expected an object with field \"id\", an integer or a string");
}

TEST(ExtractId, SaysWhenTheValueIsNotJson) {
    const std::string error = error_of("{id: 1}");
    EXPECT_TRUE(error.starts_with("value is not JSON: ")) << error;
    EXPECT_EQ(error.find("[json.exception"), std::string::npos) << error;
    EXPECT_TRUE(error_of("abc").starts_with("value is not JSON: "));
    EXPECT_TRUE(error_of(R"({"id": 1)").starts_with("value is not JSON: "));
}

TEST(ExtractId, SaysWhenTheFieldIsMissing) {
    EXPECT_EQ(error_of(R"({"name": "x"})"), "field \"id\" missing");
}

TEST(ExtractId, NamesTheWrongTypeOfTheField) {
    EXPECT_EQ(error_of(R"({"id": true})"), "field \"id\" is a boolean, expected an integer or a string");
    EXPECT_EQ(error_of(R"({"id": null})"), "field \"id\" is null, expected an integer or a string");
    EXPECT_EQ(error_of(R"({"id": {"a": 1}})"), "field \"id\" is an object, expected an integer or a string");
    EXPECT_EQ(error_of(R"({"id": [1]})"), "field \"id\" is an array, expected an integer or a string");
}

TEST(ExtractId, RejectsFloatIds) {
    EXPECT_EQ(error_of(R"({"id": 1.5})"),
              "field \"id\" is a number that is not an integer (1.5), expected an integer or a string");
    EXPECT_EQ(error_of(R"({"id": 42.0})"),
              "field \"id\" is a number that is not an integer (42.0), expected an integer or a string");
    EXPECT_EQ(error_of("1e3"),
              "value is a number that is not an integer (1e3), expected an object with field \"id\", an "
              "integer or a string");
}

TEST(ExtractId, RejectsEmptyIds) {
    EXPECT_TRUE(error_of(R"({"id": ""})").starts_with("id is empty"));
    EXPECT_TRUE(error_of(R"("")").starts_with("id is empty"));
    EXPECT_TRUE(error_of("", "").starts_with("id is empty"));
    EXPECT_EQ(error_of(nullopt, nullopt), "value is empty and the message has no key");
}

TEST(ExtractId, RejectsValuesThatAreNeitherObjectNumberNorString) {
    EXPECT_EQ(error_of("[42]"),
              "value is an array, expected an object with field \"id\", an integer or a string");
    EXPECT_EQ(error_of("true"),
              "value is a boolean, expected an object with field \"id\", an integer or a string");
}

TEST(ExtractId, NumbersBeyondDoubleAreErrorsNotExceptions) {
    EXPECT_EQ(error_of(R"({"id": 1e400})"),
              "field \"id\" is a number that is not an integer (1e400), expected an integer or a string");
    EXPECT_EQ(id_of(R"({"id": 5, "price": 1e400, "stock": -1e-400})").text, "5");
    EXPECT_EQ(id_of(R"({"id": 5, "count": )" + std::string(400, '9') + "}").text, "5");
}

TEST(ExtractId, QuotesAtMostAShortExcerptOfAHugeNumber) {
    const std::string huge = "1." + std::string(100'000, '5');
    const std::string error = error_of(R"({"id": )" + huge + "}");
    EXPECT_LT(error.size(), 200U) << error;
    EXPECT_NE(error.find("(truncated from 100002 bytes)"), std::string::npos) << error;
}

TEST(ExtractId, DeepNestingIsNeitherACrashNorAStackOverflow) {
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    EXPECT_EQ(error_of(R"({"id": )" + deep + "}"),
              "field \"id\" is an array, expected an integer or a string");
    EXPECT_EQ(id_of(R"({"other": )" + deep + R"(, "id": 3})").text, "3");
    const std::string deep_objects = [] {
        std::string text;
        for (int i = 0; i < 100'000; ++i) text += R"({"a":)";
        text += "1";
        text += std::string(100'000, '}');
        return text;
    }();
    EXPECT_EQ(id_of(R"({"id": 4, "nested": )" + deep_objects + "}").text, "4");
    EXPECT_TRUE(error_of(std::string(100'000, '[')).starts_with("value is not JSON: unexpected end"));
}

TEST(ExtractId, NulBytesAndInvalidUtf8AreErrors) {
    EXPECT_EQ(error_of(std::string("{\"id\": \"a\0b\"}", 13)),
              "value is not JSON: NUL byte in a string at byte 9");
    EXPECT_EQ(error_of(std::string("{\"id\": 1}\0", 10)),
              "value is not JSON: unexpected data after the JSON value at byte 9");
    EXPECT_EQ(error_of("{\"id\": \"\xff\"}"), "value is not JSON: invalid UTF-8 in a string at byte 8");
    EXPECT_EQ(error_of("{\"id\": \"\xc0\xaf\"}"), "value is not JSON: invalid UTF-8 in a string at byte 8");
    EXPECT_EQ(error_of("{\"id\": \"\xed\xa0\x80\"}"),
              "value is not JSON: invalid UTF-8 in a string at byte 8");
    EXPECT_EQ(error_of(R"({"id": "\ud800"})"),
              "value is not JSON: unpaired surrogate escape in a string at byte 8");
    // An escaped NUL is valid JSON: the id has a NUL byte, which the loader's id check refuses.
    EXPECT_EQ(id_of(R"({"id": "a\u0000b"})").text, std::string("a\0b", 3));
    EXPECT_EQ(id_of(R"({"id": "\u00fc\ud83d\ude00"})").text, "\xc3\xbc\xf0\x9f\x98\x80");
}

TEST(ExtractId, TrailingGarbageIsAnError) {
    EXPECT_EQ(error_of(R"({"id": 1} x)"),
              "value is not JSON: unexpected data after the JSON value at byte 10");
    EXPECT_EQ(error_of(R"({"id": 1}{"id": 2})"),
              "value is not JSON: unexpected data after the JSON value at byte 9");
    EXPECT_EQ(error_of("42 43"), "value is not JSON: unexpected data after the JSON value at byte 3");
}

TEST(ExtractId, RefusesOversizedIds) {
    const std::string big(100'000, 'x');
    EXPECT_EQ(error_of(R"({"id": ")" + big + R"("})"),
              "id is 100000 bytes long, more than the 4096 accepted");
    EXPECT_EQ(error_of(R"({"id": )" + std::string(5000, '1') + "}"),
              "id is 5000 bytes long, more than the 4096 accepted");
    EXPECT_EQ(error_of(nullopt, big), "id is 100000 bytes long, more than the 4096 accepted");
    EXPECT_EQ(id_of(R"({"id": ")" + std::string(max_id_bytes, 'y') + R"("})").text.size(), max_id_bytes);
}

TEST(ExtractId, TakesTheLastOfDuplicateFieldsAndDecodesEscapedNames) {
    EXPECT_EQ(id_of(R"({"id": 1, "id": 2})").text, "2");
    EXPECT_EQ(id_of(R"({"\u0069d": 7})").text, "7");
}

TEST(ExtractId, EveryPrefixOfAValidMessageIsAnErrorNotACrash) {
    const std::string message =
        R"({"payload": {"id": "\u00fc-1", "n": [1.5e3, true, null, {}]}, "created_at": 1})";
    for (std::size_t size = 1; size < message.size(); ++size) {
        const auto id = extract_id(nullopt, message.substr(0, size));
        EXPECT_FALSE(id) << message.substr(0, size);
    }
    EXPECT_EQ(id_of(message).text, "\xc3\xbc-1");
}

}  // namespace
}  // namespace indexer::kafka
