#include <indexer/dead_letters/reason_pattern.hpp>

#include <gtest/gtest.h>

namespace indexer::dead_letters {
namespace {

// What the engine writes for an Elasticsearch mapping conflict (Elasticsearch 7.10's wording).
std::string mapping_conflict(const std::string& id, const std::string& field, const std::string& value) {
    return "sink elasticsearch rejected the upsert of id " + id +
           ": HTTP 400: mapper_parsing_exception: failed to parse field [" + field +
           "] of type [integer] in document with id '" + id + "'. Preview of field's value: '" + value +
           "' (caused by: number_format_exception: For input string: \"" + value + "\") (code 400)";
}

TEST(ReasonPattern, MappingConflictsOfOneFieldShareOnePatternWhateverTheIdAndValue) {
    const std::string first = reason_pattern(mapping_conflict("7", "stock", "many"));
    EXPECT_EQ(first, reason_pattern(mapping_conflict("12345", "stock", "a lot, really")));
    EXPECT_EQ(first, reason_pattern(mapping_conflict("550e8400-e29b-41d4-a716-446655440000", "stock", "x")));
    EXPECT_EQ(
        first,
        "sink elasticsearch rejected the upsert of id <id>: HTTP 400: mapper_parsing_exception: failed to "
        "parse field [stock] of type [integer] in document with id '…'. Preview of field's value: '…' "
        "(caused by: number_format_exception: For input string: \"…\") (code 400)");
}

TEST(ReasonPattern, ConflictsOnDifferentFieldsStayApart) {
    EXPECT_NE(reason_pattern(mapping_conflict("7", "stock", "many")),
              reason_pattern(mapping_conflict("7", "price", "many")));
}

TEST(ReasonPattern, ParseFailuresDifferingInPositionsAndNumbersGroupTogether) {
    EXPECT_EQ(reason_pattern("value is not JSON: unexpected end of input at byte 7"),
              reason_pattern("value is not JSON: unexpected end of input at byte 1204"));
    EXPECT_EQ(reason_pattern("value is not JSON: unexpected end of input at byte 7"),
              "value is not JSON: unexpected end of input at byte #");
    EXPECT_EQ(reason_pattern("field \"id\" is a number that is not an integer (2.5)"),
              reason_pattern("field \"id\" is a number that is not an integer (-1e400)"));
}

TEST(ReasonPattern, IdsTheColumnCannotHoldGroupByTheColumnType) {
    EXPECT_EQ(reason_pattern("\"sku-1\" is not a valid bigint"),
              reason_pattern("\"x\" is not a valid bigint"));
    EXPECT_NE(reason_pattern("\"sku-1\" is not a valid bigint"),
              reason_pattern("\"sku-1\" is not a valid uuid"));
}

TEST(ReasonPattern, KeepsStatusCodesApostrophesAndNumbersInsideWords) {
    EXPECT_EQ(reason_pattern("HTTP 413: too large (code 413)"), "HTTP 413: too large (code 413)");
    EXPECT_EQ(reason_pattern("the field's int64 value is not utf8"), "the field's int64 value is not utf8");
    EXPECT_NE(reason_pattern("HTTP 400: bad"), reason_pattern("HTTP 409: bad"));
}

TEST(ReasonPattern, MasksAQuoteThatIsNeverClosedToTheEnd) {
    EXPECT_EQ(reason_pattern("unexpected token 'abc and then"), "unexpected token '…'");
    EXPECT_EQ(reason_pattern("escaped \"a \\\" b\" stays one quote"), "escaped \"…\" stays one quote");
}

TEST(ReasonPattern, CollapsesWhiteSpaceAndCutsLongReasonsOnACharacterBoundary) {
    EXPECT_EQ(reason_pattern("  a \n\t b  "), "a b");
    std::string long_reason;
    while (long_reason.size() < 2 * max_pattern_bytes) long_reason += "éa ";
    const std::string pattern = reason_pattern(long_reason);
    EXPECT_LE(pattern.size(), max_pattern_bytes + 3);
    EXPECT_TRUE(pattern.ends_with("..."));
    // Every byte before the dots belongs to a whole character: "é" is 2 bytes.
    const std::string body = pattern.substr(0, pattern.size() - 3);
    EXPECT_TRUE(body.ends_with("a") || body.ends_with(" ") || body.ends_with("é")) << body;
}

}  // namespace
}  // namespace indexer::dead_letters
