#include <indexer/util/json_scan.hpp>

#include <gtest/gtest.h>

#include <string>

namespace indexer::json {
namespace {

Scan scanned(std::string_view text) {
    auto result = scan(text);
    EXPECT_TRUE(result) << result.error();
    return result ? std::move(result.value()) : Scan{};
}

std::string error_of(std::string_view text) {
    auto result = scan(text);
    EXPECT_FALSE(result) << text;
    return result ? "" : result.error();
}

TEST(JsonScan, ReportsTopLevelMembersAsSlicesOfTheInput) {
    const Scan result = scanned(
        R"( {"a": [1, {"b": 2}], "s": "x\"y", "n": -1.5e3, "i": 12, "t": true, "z": null, "o": {}} )");
    EXPECT_EQ(result.root.kind, Kind::object);
    ASSERT_EQ(result.members.size(), 7U);
    EXPECT_EQ(result.members[0].name, "a");
    EXPECT_EQ(result.members[0].value.kind, Kind::array);
    EXPECT_EQ(result.members[0].value.raw, R"([1, {"b": 2}])");
    EXPECT_EQ(result.members[1].value.raw, R"("x\"y")");
    EXPECT_EQ(decode_string(result.members[1].value.raw), "x\"y");
    EXPECT_EQ(result.members[2].value.kind, Kind::number);
    EXPECT_FALSE(result.members[2].value.integer);
    EXPECT_TRUE(result.members[3].value.integer);
    EXPECT_EQ(result.members[4].value.kind, Kind::boolean);
    EXPECT_EQ(result.members[5].value.kind, Kind::null);
    EXPECT_EQ(result.members[6].value.raw, "{}");
    EXPECT_EQ(result.root.raw.front(), '{');
    EXPECT_EQ(result.root.raw.back(), '}');
}

TEST(JsonScan, ScalarsAndEmptyContainersAreRoots) {
    EXPECT_EQ(scanned("[]").root.kind, Kind::array);
    EXPECT_EQ(scanned("{}").root.kind, Kind::object);
    EXPECT_EQ(scanned(" \"a\" ").root.raw, "\"a\"");
    EXPECT_TRUE(scanned("0").root.integer);
    EXPECT_EQ(scanned("false").root.kind, Kind::boolean);
}

TEST(JsonScan, RejectsWhatRfc8259Rejects) {
    for (const char* text :
         {"",          " ",   "{",   "}",        "[1,]", "{\"a\":1,}", "{\"a\"}",    "{a:1}", "01",
          "1.",        ".5",  "1e",  "-",        "+1",   "tru",        "nul",        "[1 2]", "\"\\x\"",
          "\"\\u12\"", "\"a", "'a'", "[\"\t\"]", "NaN",  "Infinity",   "{\"a\":1}}", "[]]"}) {
        EXPECT_FALSE(scan(text)) << text;
    }
}

TEST(JsonScan, SaysWhatAndWhereWithoutEchoingTheInput) {
    EXPECT_EQ(error_of("{\"a\": x}"), "unexpected character at byte 6");
    EXPECT_EQ(error_of("[1"), "unexpected end at byte 2");
    EXPECT_EQ(error_of(""), "no JSON value");
}

TEST(JsonScan, HundredThousandLevelsNeedNoRecursion) {
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    EXPECT_EQ(scanned(deep).root.kind, Kind::array);
    EXPECT_EQ(error_of(deep + "]"), "unexpected data after the JSON value at byte 200000");
}

TEST(JsonScan, DecodesEscapes) {
    EXPECT_EQ(decode_string(R"("\b\f\n\r\t\/\\\"")"), "\b\f\n\r\t/\\\"");
    EXPECT_EQ(decode_string(R"("\u0041\u00e9\u20ac\ud83d\ude00")"), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

}  // namespace
}  // namespace indexer::json
