// BatchLoader over a table: documents as PostgreSQL renders rows, ids of every
// common key type, missing, duplicate and invalid ids, large batches.
#include <indexer/postgres/batch_loader.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "postgres_fixture.hpp"

namespace indexer::testing {
namespace {

using postgres::TableSource;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class BatchLoaderTable : public PostgresTest {};

TEST_F(BatchLoaderTable, RendersEveryCommonColumnTypeExactlyAsRowToJson) {
    const auto table =
        create_table("all_types",
                     "id bigint PRIMARY KEY, small smallint, regular integer, big bigint, "
                     "amount numeric(12,3), ratio real, precise double precision, flag boolean, "
                     "body text, label varchar(40), token uuid, day date, at timestamp, "
                     "at_tz timestamptz, raw json, doc jsonb, numbers int[], tags text[], "
                     "nothing text");
    exec(
        "INSERT INTO " + table +
        " VALUES (1, -32768, 2147483647, 9223372036854775807, 1234.500, 1.5, 0.1, true, "
        "'Grüße aus Zürich, 東京 🚀 \"quoted\" back\\slash', 'café', "
        "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '2024-02-29', '2024-02-29 13:14:15.123456', "
        "'2024-02-29 13:14:15+02', '{\"b\": 1, \"a\": [true, null]}', '{\"b\": 1, \"a\": [true, null]}', "
        "'{1,2,3}', '{\"x\",\"y z\",NULL}', NULL), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
        "NULL, NULL)");
    auto loader = make_loader(TableSource{table, "id"});

    const auto batch = load(loader, {"1", "2"});

    ASSERT_EQ(batch.rows.size(), 2U);
    const auto expected = exec("SELECT id::text, row_to_json(t)::text FROM " + table + " t ORDER BY id");
    const auto docs = documents(batch);
    for (const auto& row : expected) EXPECT_EQ(docs.at(row[0].c_str()), row[1].c_str());

    const auto full = nlohmann::json::parse(docs.at("1"));
    EXPECT_EQ(full["small"], -32768);
    EXPECT_EQ(full["big"], 9223372036854775807LL);
    EXPECT_THAT(docs.at("1"), HasSubstr(R"("amount":1234.500,)"));  // numeric keeps its scale
    EXPECT_EQ(full["flag"], true);
    EXPECT_EQ(full["body"], "Grüße aus Zürich, 東京 🚀 \"quoted\" back\\slash");
    EXPECT_EQ(full["label"], "café");
    EXPECT_EQ(full["token"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    EXPECT_EQ(full["day"], "2024-02-29");
    EXPECT_EQ(full["at"], "2024-02-29T13:14:15.123456");
    EXPECT_EQ(full["raw"], nlohmann::json::parse(R"({"b": 1, "a": [true, null]})"));
    EXPECT_EQ(full["doc"], nlohmann::json::parse(R"({"a": [true, null], "b": 1})"));
    EXPECT_EQ(full["numbers"], nlohmann::json::parse("[1,2,3]"));
    EXPECT_EQ(full["tags"], nlohmann::json::parse(R"(["x","y z",null])"));
    EXPECT_TRUE(full["nothing"].is_null());
    const auto empty = nlohmann::json::parse(docs.at("2"));
    EXPECT_EQ(empty["id"], 2);
    EXPECT_TRUE(empty["small"].is_null());
    EXPECT_TRUE(empty["tags"].is_null());
    for (const auto& row : batch.rows) EXPECT_EQ(row.version, 0U);
}

TEST_F(BatchLoaderTable, ReportsIdsWithoutRowsAsMissing) {
    const auto table = create_table("products", "id bigint PRIMARY KEY, name text");
    exec("INSERT INTO " + table + " VALUES (1, 'one'), (2, 'two')");
    auto loader = make_loader(TableSource{table, "id"});

    const auto batch = load(loader, {"1", "404", "2", "405"});

    EXPECT_THAT(documents(batch), UnorderedElementsAre(::testing::Pair("1", R"({"id":1,"name":"one"})"),
                                                       ::testing::Pair("2", R"({"id":2,"name":"two"})")));
    EXPECT_THAT(missing_ids(batch), UnorderedElementsAre("404", "405"));
    EXPECT_THAT(batch.invalid, IsEmpty());
    EXPECT_EQ(batch.stats.rows, 2U);
    EXPECT_EQ(batch.stats.queries, 1U);
    EXPECT_GT(batch.stats.elapsed.count(), 0);
}

TEST_F(BatchLoaderTable, MapsDuplicateAndDifferentlyWrittenIdsToOneRow) {
    const auto table = create_table("products", "id integer PRIMARY KEY");
    exec("INSERT INTO " + table + " VALUES (7), (8)");
    auto loader = make_loader(TableSource{table, "id"});

    const auto batch = load(loader, {"7", "007", "+7", " 8", "7", "9", "09"});

    ASSERT_EQ(batch.rows.size(), 2U);
    EXPECT_EQ(batch.rows[0].id, "7");
    EXPECT_THAT(batch.rows[0].request_indexes, ElementsAre(0, 1, 2, 4));
    EXPECT_EQ(batch.rows[1].id, "8");
    EXPECT_THAT(batch.rows[1].request_indexes, ElementsAre(3));
    ASSERT_EQ(batch.missing.size(), 1U);
    EXPECT_EQ(batch.missing[0].id, "9");
    EXPECT_THAT(batch.missing[0].request_indexes, ElementsAre(5, 6));
}

TEST_F(BatchLoaderTable, ReportsIdsABigintColumnCannotHoldOneByOneAndLoadsTheRest) {
    const auto table = create_table("products", "id bigint PRIMARY KEY");
    exec("INSERT INTO " + table + " VALUES (1), (2)");
    auto loader = make_loader(TableSource{table, "id"});

    const auto batch = load(loader, {"1", "abc", "1.5", "99999999999999999999", "2", "", "3"});

    EXPECT_THAT(documents(batch), UnorderedElementsAre(::testing::Key("1"), ::testing::Key("2")));
    EXPECT_THAT(missing_ids(batch), ElementsAre("3"));
    const auto reasons = invalid_reasons(batch);
    ASSERT_EQ(reasons.size(), 4U);
    EXPECT_THAT(reasons.at(1), HasSubstr("\"abc\" is not a valid bigint"));
    EXPECT_THAT(reasons.at(2), HasSubstr("\"1.5\" is not a valid bigint"));
    EXPECT_THAT(reasons.at(3), HasSubstr("out of range for type bigint"));
    EXPECT_THAT(reasons.at(5), HasSubstr("is not a valid bigint"));
}

TEST_F(BatchLoaderTable, LoadsRowsByUuidKeyWrittenInAnyAcceptedForm) {
    const auto table = create_table("users", "id uuid PRIMARY KEY, name text");
    exec("INSERT INTO " + table +
         " VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'ann'), ('b1ffcd88-8d1a-4321-9c7e-7cc8ce491b22', "
         "'bob')");
    auto loader = make_loader(TableSource{table, "id"});
    EXPECT_EQ(loader.id_type(), "uuid");

    const auto batch =
        load(loader, {"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "{b1ffcd888d1a43219c7e7cc8ce491b22}",
                      "c2aade77-7e2b-4567-8d8f-8dd9df5a2c33", "not-a-uuid", "a0eebc99"});

    ASSERT_EQ(batch.rows.size(), 2U);
    EXPECT_EQ(batch.rows[0].id, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    EXPECT_THAT(batch.rows[0].request_indexes, ElementsAre(0));
    EXPECT_EQ(nlohmann::json::parse(batch.rows[0].document)["name"], "ann");
    EXPECT_EQ(batch.rows[1].id, "b1ffcd88-8d1a-4321-9c7e-7cc8ce491b22");
    EXPECT_THAT(missing_ids(batch), ElementsAre("c2aade77-7e2b-4567-8d8f-8dd9df5a2c33"));
    const auto reasons = invalid_reasons(batch);
    ASSERT_EQ(reasons.size(), 2U);
    EXPECT_THAT(reasons.at(3), HasSubstr("is not a valid uuid"));
    EXPECT_THAT(reasons.at(4), HasSubstr("is not a valid uuid"));
}

TEST_F(BatchLoaderTable, LoadsTextKeysContainingArrayLiteralSyntaxAndUnicode) {
    const auto table = create_table("texts", "id text PRIMARY KEY, n integer");
    const std::vector<std::string> ids{R"(with "double" quotes)",
                                       R"(back\slash)",
                                       R"(\)",
                                       R"(")",
                                       "a,b,c",
                                       "{braces}",
                                       "},{",
                                       " spaced ",
                                       "NULL",
                                       "",
                                       "Grüße 東京 🚀",
                                       "'single'",
                                       "tab\there",
                                       "line\nbreak"};
    {
        pqxx::work tx(admin());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            tx.exec_params("INSERT INTO " + table + " VALUES ($1, $2)", ids[i], static_cast<int>(i));
        }
        tx.commit();
    }
    auto loader = make_loader(TableSource{table, "id"});
    auto requested = ids;
    requested.emplace_back(R"(missing "one"\)");

    const auto batch = load(loader, requested);

    ASSERT_EQ(batch.rows.size(), ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        EXPECT_EQ(batch.rows[i].id, ids[i]);
        EXPECT_THAT(batch.rows[i].request_indexes, ElementsAre(i));
        const auto document = nlohmann::json::parse(batch.rows[i].document);
        EXPECT_EQ(document["id"], ids[i]);
        EXPECT_EQ(document["n"], i);
    }
    EXPECT_THAT(missing_ids(batch), ElementsAre(R"(missing "one"\)"));
}

TEST_F(BatchLoaderTable, FindsTablesAndColumnsByQuotedSqlNames) {
    const std::string schema = unique_name("Odd Schema");
    exec("CREATE SCHEMA \"" + schema + "\"");
    drop_after_test("DROP SCHEMA \"" + schema + "\" CASCADE");
    exec("CREATE TABLE \"" + schema + "\".\"My Table\" (\"ID\" smallint PRIMARY KEY, \"select\" text)");
    exec("INSERT INTO \"" + schema + "\".\"My Table\" VALUES (5, 'keyword column')");
    auto loader = make_loader(TableSource{"\"" + schema + "\".\"My Table\"", "\"ID\""});

    const auto batch = load(loader, {"5", "6", "40000"});

    EXPECT_THAT(documents(batch), ElementsAre(::testing::Pair("5", R"({"ID":5,"select":"keyword column"})")));
    EXPECT_THAT(missing_ids(batch), ElementsAre("6"));
    EXPECT_THAT(invalid_reasons(batch).at(2), HasSubstr("out of range for type smallint"));
}

TEST_F(BatchLoaderTable, LoadsTenThousandIdsInOneQuery) {
    const auto table = create_table("many", "id bigint PRIMARY KEY, payload text");
    exec("INSERT INTO " + table + " SELECT g, 'row ' || g FROM generate_series(1, 10000) g");
    auto loader = make_loader(TableSource{table, "id"});
    std::vector<std::string> ids;
    for (int id = 1; id <= 10000; ++id) ids.push_back(std::to_string(id));

    const auto batch = load(loader, ids);

    EXPECT_EQ(batch.rows.size(), 10000U);
    EXPECT_EQ(batch.stats.rows, 10000U);
    EXPECT_EQ(batch.stats.queries, 1U);
    EXPECT_THAT(batch.missing, IsEmpty());
    EXPECT_EQ(batch.rows[9999].id, "10000");
    EXPECT_EQ(batch.rows[9999].document, R"({"id":10000,"payload":"row 10000"})");
}

// Id types not checked client-side: the server casts and prints them, and
// values equal under the type's equality but printed differently still meet.
TEST_F(BatchLoaderTable, LetsTheServerCheckAndMatchIdsOfOtherTypes) {
    const auto table = create_table("prices", "id numeric PRIMARY KEY, label text");
    exec("INSERT INTO " + table + " VALUES (1.5, 'one and a half'), (2, 'two')");
    auto loader = make_loader(TableSource{table, "id"});
    EXPECT_EQ(loader.id_type(), "numeric");

    const auto batch = load(loader, {"1.50", "abc", "2", "3", "1.5"});

    ASSERT_EQ(batch.rows.size(), 2U);
    EXPECT_EQ(batch.rows[0].id, "1.5");
    EXPECT_THAT(batch.rows[0].request_indexes, UnorderedElementsAre(0, 4));
    EXPECT_EQ(batch.rows[1].id, "2");
    EXPECT_THAT(missing_ids(batch), ElementsAre("3"));
    EXPECT_THAT(invalid_reasons(batch).at(1), HasSubstr("invalid input syntax for type numeric"));
}

// A view that casts a column: a row whose value does not cast is dead-lettered
// (even alone in its batch: rows read from the table show the view works), but
// once no row casts the batch is retried with nothing dead-lettered.
TEST_F(BatchLoaderTable, ChargesARowThatDoesNotCastToItsIdButRetriesWhenNoRowCasts) {
    const auto table = create_table("raw_prices", "id bigint PRIMARY KEY, price text");
    const auto view = unique_name("prices_view");
    exec("INSERT INTO " + table + " VALUES (1, '1.5'), (2, 'n/a'), (3, '7')");
    exec("CREATE VIEW " + view + " AS SELECT id, price::numeric AS price FROM " + table);
    drop_after_test("DROP VIEW IF EXISTS " + view);
    auto loader = make_loader(TableSource{view, "id"});

    const auto alone = load(loader, {"2"});
    const auto with_others = load(loader, {"1", "2", "3"});
    exec("UPDATE " + table + " SET price = 'unknown'");
    const auto none_casts = loader.load(std::vector<std::string>{"1", "2", "3"});

    EXPECT_THAT(invalid_reasons(alone).at(0), HasSubstr("invalid input syntax for type numeric"));
    EXPECT_EQ(with_others.rows.size(), 2U);
    EXPECT_THAT(invalid_reasons(with_others).at(1), HasSubstr("invalid input syntax for type numeric"));
    ASSERT_FALSE(none_casts);
    EXPECT_TRUE(none_casts.status().is_retryable());
    EXPECT_THAT(none_casts.error(), HasSubstr("SQLSTATE 22P02"));
}

// The client-side checks must agree with PostgreSQL's own input functions, or
// an id would be dead-lettered that PostgreSQL accepts (or fail the batch).
TEST_F(BatchLoaderTable, ClientSideIdChecksAgreeWithPostgres) {
    struct Case {
        postgres::IdKind kind;
        const char* type;
        std::vector<std::string> inputs;
    };
    const std::vector<Case> cases{
        {postgres::IdKind::smallint,
         "smallint",
         {"32767", "-32768", "32768", "-0", "007", " 5 ", "+3", "x", "1.0"}},
        {postgres::IdKind::integer,
         "integer",
         {"2147483647", "2147483648", "-2147483648", "\t9\n", "", "1e2"}},
        {postgres::IdKind::bigint,
         "bigint",
         {"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "00",
          "--1", "1 1"}},
        {postgres::IdKind::uuid,
         "uuid",
         {"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "{a0eebc999c0b4ef8bb6d6bb9bd380a11}",
          "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
          "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", " a0eebc99"}},
        {postgres::IdKind::text, "text", {"", " x ", "Grüße", "\"\\"}},
    };
    for (const auto& test : cases) {
        for (const auto& input : test.inputs) {
            std::optional<std::string> server;
            try {
                pqxx::nontransaction tx(admin());
                server = tx.exec_params1(std::string{"SELECT $1::"} + test.type + "::text", input)[0].c_str();
            } catch (const pqxx::data_exception&) {
                server.reset();
            }
            const auto client = postgres::canonical_id(test.kind, input);
            EXPECT_EQ(client.is_ok(), server.has_value()) << test.type << " \"" << input << "\"";
            if (client && server) {
                EXPECT_EQ(client.value(), *server) << test.type << " \"" << input << "\"";
            }
        }
    }
}

}  // namespace
}  // namespace indexer::testing
