#include <indexer/postgres/array_literal.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using indexer::postgres::make_array_literal;

TEST(ArrayLiteral, EmptyListIsEmptyBraces) {
    EXPECT_EQ(make_array_literal(std::vector<std::string>{}), "{}");
}

TEST(ArrayLiteral, QuotesEveryElement) {
    EXPECT_EQ(make_array_literal(std::vector<std::string>{"1", "22", "333"}), R"({"1","22","333"})");
}

TEST(ArrayLiteral, EscapesBackslashAndDoubleQuote) {
    EXPECT_EQ(make_array_literal(std::vector<std::string>{R"(a"b)", R"(c\d)", R"(\")"}),
              R"({"a\"b","c\\d","\\\""})");
}

TEST(ArrayLiteral, KeepsSeparatorsBracesSpacesAndNullWordAsData) {
    EXPECT_EQ(make_array_literal(std::vector<std::string>{"a,b", "{x}", " padded ", "NULL", ""}),
              R"({"a,b","{x}"," padded ","NULL",""})");
}

TEST(ArrayLiteral, PassesUtf8Unchanged) {
    EXPECT_EQ(make_array_literal(std::vector<std::string>{"Zürich", "東京"}), "{\"Zürich\",\"東京\"}");
}

TEST(ArrayLiteral, AcceptsStringViews) {
    const std::vector<std::string_view> ids{"x", "y\"z"};
    EXPECT_EQ(make_array_literal(ids), R"({"x","y\"z"})");
}
