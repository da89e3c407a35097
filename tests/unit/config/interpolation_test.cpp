#include <indexer/config/interpolation.hpp>

#include "fake_environment.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using indexer::config::has_interpolation;
using indexer::config::interpolate;
using indexer::config::testing::fake_environment;
using ::testing::HasSubstr;

namespace {

std::string interpolated(std::string_view text, const std::map<std::string, std::string>& variables = {}) {
    auto result = interpolate(text, fake_environment(variables));
    EXPECT_TRUE(result.is_ok()) << result.error();
    return result.is_ok() ? result.value() : "";
}

std::string failure(std::string_view text, const std::map<std::string, std::string>& variables = {}) {
    auto result = interpolate(text, fake_environment(variables));
    EXPECT_FALSE(result.is_ok()) << "interpolated to " << (result.is_ok() ? result.value() : "");
    return result.is_ok() ? "" : result.error();
}

}  // namespace

TEST(Interpolate, ReplacesASetVariable) {
    EXPECT_EQ(interpolated("${HOST}:9092", {{"HOST", "kafka"}}), "kafka:9092");
    EXPECT_EQ(interpolated("${A}${B}", {{"A", "1"}, {"B", "2"}}), "12");
}

TEST(Interpolate, UsesTheDefaultWhenTheVariableIsUnsetOrEmpty) {
    EXPECT_EQ(interpolated("${HOST:-localhost}:9092"), "localhost:9092");
    EXPECT_EQ(interpolated("${HOST:-localhost}", {{"HOST", ""}}), "localhost");
    EXPECT_EQ(interpolated("${HOST:-localhost}", {{"HOST", "kafka"}}), "kafka");
    EXPECT_EQ(interpolated("${HOST:-}"), "");
    EXPECT_EQ(interpolated("${URL:-http://a:9200/x?y=1}"), "http://a:9200/x?y=1");
}

TEST(Interpolate, GivesEmptyTextForASetButEmptyVariableWithoutDefault) {
    EXPECT_EQ(interpolated("[${EMPTY}]", {{"EMPTY", ""}}), "[]");
}

TEST(Interpolate, FailsForAnUnsetVariableWithoutDefaultNamingIt) {
    EXPECT_THAT(failure("postgresql://u:${PGPASSWORD}@db"),
                HasSubstr("environment variable PGPASSWORD is not set and ${PGPASSWORD} has no default"));
}

TEST(Interpolate, TurnsDoubleDollarBraceIntoALiteral) {
    EXPECT_EQ(interpolated("$${id}"), "${id}");
    EXPECT_EQ(interpolated("product:$${id}:${V}", {{"V", "2"}}), "product:${id}:2");
}

TEST(Interpolate, KeepsEveryOtherDollarAsWritten) {
    EXPECT_EQ(interpolated("pa$$word$"), "pa$$word$");
    EXPECT_EQ(interpolated("$1 and $HOME and $"), "$1 and $HOME and $");
}

TEST(Interpolate, DoesNotScanSubstitutedTextAgain) {
    EXPECT_EQ(interpolated("${A}", {{"A", "${B}"}, {"B", "no"}}), "${B}");
}

TEST(Interpolate, KeepsStructuralCharactersOfTheValue) {
    EXPECT_EQ(interpolated("${V}", {{"V", "a: b\n- c\n{d: [e]} # f"}}), "a: b\n- c\n{d: [e]} # f");
}

TEST(Interpolate, RejectsMalformedReferences) {
    EXPECT_THAT(failure("${HOST"), HasSubstr("unterminated \"${\""));
    EXPECT_THAT(failure("${}"), HasSubstr("does not start with a variable name"));
    EXPECT_THAT(failure("${1A}"), HasSubstr("does not start with a variable name"));
    EXPECT_THAT(failure("${A B}"), HasSubstr("unsupported form \"${A B}\""));
    EXPECT_THAT(failure("${A:?missing}"), HasSubstr("unsupported form"));
    EXPECT_THAT(failure("${A:-${B}}"), HasSubstr("a default cannot contain another ${...}"));
}

TEST(HasInterpolation, SeesReferencesAndEscapesOnly) {
    EXPECT_TRUE(has_interpolation("x${A}"));
    EXPECT_TRUE(has_interpolation("$${A}"));
    EXPECT_FALSE(has_interpolation("pa$$word $1 {x}"));
}
