#include <indexer/config/sql.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using indexer::config::parse_sql_identifier;
using indexer::config::parse_table_name;
using indexer::config::quote_sql_identifier;
using indexer::config::sql_parameter_numbers;
using indexer::config::TableName;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseSqlIdentifier, FoldsUnquotedNamesToLowerCaseLikePostgres) {
    EXPECT_EQ(parse_sql_identifier("Products").value(), "products");
    EXPECT_EQ(parse_sql_identifier("_id$2").value(), "_id$2");
    EXPECT_EQ(parse_sql_identifier("größe").value(), "größe");
}

TEST(ParseSqlIdentifier, KeepsQuotedNamesExactly) {
    EXPECT_EQ(parse_sql_identifier("\"Order Items\"").value(), "Order Items");
    EXPECT_EQ(parse_sql_identifier("\"say \"\"hi\"\"\"").value(), "say \"hi\"");
}

TEST(ParseSqlIdentifier, RejectsAnythingThatCouldLeaveTheIdentifier) {
    EXPECT_THAT(parse_sql_identifier("products; drop table x").error(), HasSubstr("';' is not allowed"));
    EXPECT_THAT(parse_sql_identifier("a b").error(), HasSubstr("' ' is not allowed"));
    EXPECT_THAT(parse_sql_identifier("1abc").error(), HasSubstr("cannot start with '1'"));
    EXPECT_THAT(parse_sql_identifier("\"open").error(), HasSubstr("closing"));
    EXPECT_THAT(parse_sql_identifier("\"a\"b\"").error(), HasSubstr("closing"));
    EXPECT_THAT(parse_sql_identifier("\"\"").error(), HasSubstr("cannot be empty"));
    EXPECT_THAT(parse_sql_identifier("").error(), HasSubstr("cannot be empty"));
    EXPECT_THAT(parse_sql_identifier(std::string(64, 'a')).error(), HasSubstr("at most 63 bytes"));
    EXPECT_TRUE(parse_sql_identifier(std::string(63, 'a')).is_ok());
}

TEST(ParseTableName, ReadsPlainAndSchemaQualifiedNames) {
    EXPECT_EQ(parse_table_name("products").value(), (TableName{"", "products"}));
    EXPECT_EQ(parse_table_name("Shop.Products").value(), (TableName{"shop", "products"}));
    EXPECT_EQ(parse_table_name("crm.\"Order.Items\"").value(), (TableName{"crm", "Order.Items"}));
}

TEST(ParseTableName, RejectsThreePartsAndEmptyParts) {
    EXPECT_THAT(parse_table_name("db.shop.products").error(), HasSubstr("got 3 parts"));
    EXPECT_THAT(parse_table_name("shop.").error(), HasSubstr("cannot be empty"));
    EXPECT_THAT(parse_table_name(".products").error(), HasSubstr("cannot be empty"));
}

TEST(TableName, QuotesEveryPartForSqlAndOnlyWhatNeedsItForPeople) {
    const TableName table{"crm", "Order \"Items\""};
    EXPECT_EQ(table.quoted(), "\"crm\".\"Order \"\"Items\"\"\"");
    EXPECT_EQ(table.to_string(), "crm.\"Order \"\"Items\"\"\"");
    EXPECT_EQ((TableName{"", "products"}).quoted(), "\"products\"");
    EXPECT_EQ((TableName{"", "products"}).to_string(), "products");
    EXPECT_EQ(parse_table_name(table.to_string()).value(), table);
}

TEST(QuoteSqlIdentifier, DoublesEmbeddedQuotes) {
    EXPECT_EQ(quote_sql_identifier("a\"b"), "\"a\"\"b\"");
}

TEST(SqlParameterNumbers, FindsPositionalParameters) {
    EXPECT_THAT(sql_parameter_numbers("SELECT id, row_to_json(p) FROM p WHERE id = ANY($1)"), ElementsAre(1));
    EXPECT_THAT(sql_parameter_numbers("SELECT $2, $1, $1 FROM t WHERE a=$10"), ElementsAre(1, 2, 10));
    EXPECT_THAT(sql_parameter_numbers("SELECT 1"), ElementsAre());
}

TEST(SqlParameterNumbers, IgnoresLiteralsIdentifiersCommentsAndDollarQuotes) {
    const char* sql = R"(SELECT '$2', E'it\'s $3', "col$4", a$5, $$ $6 $$, $tag$ $7 $tag$ -- $8
                         /* $9 /* nested $10 */ $11 */ FROM t WHERE id = ANY($1))";
    EXPECT_THAT(sql_parameter_numbers(sql), ElementsAre(1));
    EXPECT_THAT(sql_parameter_numbers("SELECT 'it''s $2' WHERE x = $1"), ElementsAre(1));
}
