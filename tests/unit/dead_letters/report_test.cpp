#include <indexer/dead_letters/report.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace indexer::dead_letters {
namespace {

using ::testing::HasSubstr;

Letter letter(std::int64_t offset, std::string stage, std::string reason,
              std::string pipeline = "products-es") {
    Letter result;
    result.partition = 0;
    result.offset = offset;
    result.key = std::to_string(offset);
    result.value = R"({"id": )" + std::to_string(offset) + "}";
    result.pipeline = std::move(pipeline);
    result.stage = std::move(stage);
    result.reason = std::move(reason);
    result.source_topic = "products";
    result.source_partition = 3;
    result.source_offset = 1000 + offset;
    return result;
}

std::string conflict(std::int64_t id) {
    return "sink elasticsearch rejected the upsert of id " + std::to_string(id) +
           ": HTTP 400: mapper_parsing_exception: failed to parse field [stock] of type [integer] in "
           "document "
           "with id '" +
           std::to_string(id) + "'. Preview of field's value: 'many " + std::to_string(id) + "' (code 400)";
}

TEST(Report, CountsLettersByStageAndReasonPatternLargestGroupFirst) {
    Report report("products-es", "products-dead-letter");
    report.add(letter(0, "parse", "value is not JSON: unexpected end at byte 4"), LetterState::to_replay);
    for (std::int64_t id = 1; id <= 3; ++id)
        report.add(letter(id, "sink-reject", conflict(id)), LetterState::to_replay);
    report.add(letter(4, "parse", "value is not JSON: unexpected end at byte 19"), LetterState::replayed);
    report.add(letter(5, "id-type", "\"x\" is not a valid bigint"), LetterState::to_replay);

    const std::vector<ReasonGroup> groups = report.groups();
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(groups[0].stage, "sink-reject");
    EXPECT_EQ(groups[0].counts.letters, 3u);
    EXPECT_THAT(groups[0].pattern, HasSubstr("failed to parse field [stock] of type [integer]"));
    EXPECT_EQ(groups[1].stage, "parse");
    EXPECT_EQ(groups[1].counts.letters, 2u);
    EXPECT_EQ(groups[1].counts.replayed, 1u);
    EXPECT_EQ(groups[1].counts.to_replay, 1u);
    EXPECT_EQ(groups[2].stage, "id-type");
    EXPECT_EQ(report.total().letters, 6u);
    EXPECT_EQ(report.total().to_replay, 5u);
    EXPECT_EQ(report.total().replayed, 1u);
}

TEST(Report, KeepsTheFirstTwoLettersOfAGroupAsExamples) {
    Report report("products-es", "dl");
    for (std::int64_t id = 1; id <= 5; ++id)
        report.add(letter(id, "sink-reject", conflict(id)), LetterState::to_replay);
    const auto groups = report.groups();
    ASSERT_EQ(groups.size(), 1u);
    ASSERT_EQ(groups[0].examples.size(), examples_per_group);
    EXPECT_EQ(groups[0].examples[0].offset, 1);
    EXPECT_EQ(groups[0].examples[1].offset, 2);
}

TEST(Report, LettersOfOtherPipelinesAreOnlyCountedByName) {
    Report report("products-es", "dl");
    report.add(letter(1, "parse", "x", "products-cache"), LetterState::to_replay);
    report.add(letter(2, "parse", "x", ""), LetterState::to_replay);
    report.add(letter(3, "parse", "x"), LetterState::cannot_replay);
    EXPECT_EQ(report.total().letters, 1u);
    EXPECT_EQ(report.total().cannot_replay, 1u);
    EXPECT_EQ(report.other_pipelines(),
              (std::map<std::string, std::uint64_t>{{"(none)", 1}, {"products-cache", 1}}));
    EXPECT_THAT(report.to_text(), HasSubstr("products-cache (1)"));
}

TEST(Report, TextShowsEachGroupWithCountsExamplesAndTheTotal) {
    Report report("products-es", "products-dead-letter");
    for (std::int64_t id = 1; id <= 3; ++id)
        report.add(letter(id, "sink-reject", conflict(id)), LetterState::to_replay);
    const std::string text = report.to_text();
    EXPECT_THAT(text, HasSubstr("Dead letters of pipeline products-es in products-dead-letter"));
    EXPECT_THAT(text, HasSubstr("[sink-reject] sink elasticsearch rejected the upsert of id <id>: HTTP 400"));
    EXPECT_THAT(text, HasSubstr("3 letter(s): 3 to replay, 0 replayed"));
    EXPECT_THAT(text, HasSubstr(R"(e.g. key 1 value {"id": 1})"));
    EXPECT_THAT(text, HasSubstr("from products[3]@1001, letter products-dead-letter[0]@1"));
    EXPECT_THAT(text, HasSubstr("Total: 3 letter(s)"));
}

TEST(Report, JsonHasTheGroupsTheirExamplesAndTheTotal) {
    Report report("products-es", "dl");
    report.add(letter(1, "sink-reject", conflict(1)), LetterState::replayed);
    Letter truncated = letter(2, "parse", "too large");
    truncated.value.reset();
    truncated.left_out = {"value"};
    report.add(truncated, LetterState::cannot_replay);
    const nlohmann::json json = report.to_json();
    EXPECT_EQ(json["pipeline"], "products-es");
    ASSERT_EQ(json["groups"].size(), 2u);
    const nlohmann::json& conflicts =
        json["groups"][0]["stage"] == "sink-reject" ? json["groups"][0] : json["groups"][1];
    EXPECT_EQ(conflicts["letters"], 1);
    EXPECT_EQ(conflicts["replayed"], 1);
    EXPECT_EQ(conflicts["examples"][0]["key"], "1");
    EXPECT_EQ(conflicts["examples"][0]["source"]["offset"], 1001);
    EXPECT_EQ(json["total"]["cannot_replay"], 1);
    EXPECT_EQ(json["total"]["letters"], 2);
}

TEST(PrintableExcerpt, EscapesControlBytesAndInvalidUtf8AndCutsLongText) {
    EXPECT_EQ(printable_excerpt(std::string("a\nb\0c", 5)), "a\\x0ab\\x00c");
    EXPECT_EQ(printable_excerpt(std::string("\xff\xfe ok é")), "\\xff\\xfe ok é");
    EXPECT_EQ(printable_excerpt(std::nullopt), "(null)");
    EXPECT_EQ(printable_excerpt(std::string(10, 'x'), 4), "xxxx... (10 bytes)");
}

}  // namespace
}  // namespace indexer::dead_letters
