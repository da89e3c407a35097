// BatchLoader over a custom query: nested documents, the query's contract, and
// rows that break it without blocking the rest of the batch.
#include <indexer/postgres/batch_loader.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "postgres_fixture.hpp"

namespace indexer::testing {
namespace {

using postgres::QuerySource;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class BatchLoaderQuery : public PostgresTest {
protected:
    void SetUp() override {
        PostgresTest::SetUp();
        if (HasFatalFailure()) return;
        orders_ = create_table("orders", "id bigint PRIMARY KEY, customer text NOT NULL");
        items_ = create_table("order_items", "order_id bigint REFERENCES " + orders_ +
                                                 ", sku text NOT NULL, qty integer NOT NULL");
        exec("INSERT INTO " + orders_ + " VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Cleo')");
        exec("INSERT INTO " + items_ + " VALUES (1, 'apple', 3), (1, 'pear', 1), (2, 'fig', 12)");
    }

    std::string nested_orders_query() const {
        return "SELECT o.id, json_build_object('id', o.id, 'customer', o.customer, 'items',\n"
               "  coalesce(json_agg(json_build_object('sku', i.sku, 'qty', i.qty) ORDER BY i.sku)\n"
               "           FILTER (WHERE i.sku IS NOT NULL), '[]')) AS document\n"
               "FROM " +
               orders_ + " o LEFT JOIN " + items_ +
               " i ON i.order_id = o.id\n"
               "WHERE o.id = ANY($1)  -- a trailing comment must not break the wrapper\n"
               "GROUP BY o.id;";
    }

    std::string orders_;
    std::string items_;
};

TEST_F(BatchLoaderQuery, BuildsNestedDocumentsOverAJoin) {
    auto loader = make_loader(QuerySource{nested_orders_query(), "id"});
    EXPECT_EQ(loader.id_type(), "bigint");

    const auto batch = load(loader, {"1", "2", "3", "4"});

    const auto docs = documents(batch);
    ASSERT_EQ(docs.size(), 3U);
    EXPECT_EQ(nlohmann::json::parse(docs.at("1")), nlohmann::json::parse(R"({"id": 1, "customer": "Ann",
        "items": [{"sku": "apple", "qty": 3}, {"sku": "pear", "qty": 1}]})"));
    EXPECT_EQ(nlohmann::json::parse(docs.at("2")),
              nlohmann::json::parse(R"({"id": 2, "customer": "Bob", "items": [{"sku": "fig", "qty": 12}]})"));
    EXPECT_EQ(nlohmann::json::parse(docs.at("3")),
              nlohmann::json::parse(R"({"id": 3, "customer": "Cleo", "items": []})"));
    EXPECT_THAT(missing_ids(batch), ElementsAre("4"));
}

TEST_F(BatchLoaderQuery, ChecksIdsAgainstTheTypeOfTheArrayParameter) {
    auto loader = make_loader(QuerySource{nested_orders_query(), "id"});

    const auto batch = load(loader, {"1", "one", "2"});

    EXPECT_EQ(batch.rows.size(), 2U);
    EXPECT_THAT(invalid_reasons(batch).at(1), HasSubstr("is not a valid bigint"));
}

TEST_F(BatchLoaderQuery, AcceptsJsonbAndTextDocumentsAndAnExplicitlyTypedParameter) {
    const auto users = create_table("users", "uid uuid PRIMARY KEY, name text");
    exec("INSERT INTO " + users + " VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'ann')");
    auto jsonb_loader =
        make_loader(QuerySource{"SELECT uid, jsonb_build_object('name', name) AS document FROM " + users +
                                    " WHERE uid = ANY($1::uuid[])",
                                "uid"});
    auto text_loader = make_loader(QuerySource{
        "SELECT uid, json_build_object('n', name)::text AS document FROM " + users + " WHERE uid = ANY($1)",
        "uid"});

    const auto from_jsonb = load(jsonb_loader, {"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"});
    const auto from_text = load(text_loader, {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"});

    EXPECT_EQ(jsonb_loader.id_type(), "uuid");
    ASSERT_EQ(from_jsonb.rows.size(), 1U);
    EXPECT_EQ(from_jsonb.rows[0].id, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    EXPECT_EQ(from_jsonb.rows[0].document, R"({"name": "ann"})");
    ASSERT_EQ(from_text.rows.size(), 1U);
    EXPECT_EQ(from_text.rows[0].document, R"({"n" : "ann"})");
}

TEST_F(BatchLoaderQuery, TreatsANullDocumentAsMissing) {
    auto loader =
        make_loader(QuerySource{"SELECT id, CASE WHEN customer = 'Bob' THEN NULL ELSE row_to_json(o) END "
                                "AS document FROM " +
                                    orders_ + " o WHERE id = ANY($1)",
                                "id"});

    const auto batch = load(loader, {"1", "2"});

    EXPECT_EQ(batch.rows.size(), 1U);
    EXPECT_THAT(missing_ids(batch), ElementsAre("2"));
}

TEST_F(BatchLoaderQuery, ReportsAnIdWithSeveralRowsAsInvalidAndLoadsTheOthers) {
    auto loader =
        make_loader(QuerySource{"SELECT o.id, json_build_object('sku', i.sku) AS document FROM " + orders_ +
                                    " o LEFT JOIN " + items_ + " i ON i.order_id = o.id WHERE o.id = ANY($1)",
                                "id"});

    const auto batch = load(loader, {"1", "2"});

    ASSERT_EQ(batch.rows.size(), 1U);
    EXPECT_EQ(batch.rows[0].id, "2");
    EXPECT_THAT(invalid_reasons(batch).at(0), HasSubstr("returned 2 rows for id \"1\""));
}

TEST_F(BatchLoaderQuery, IsolatesARowThatMakesTheQueryFailAndLoadsTheRest) {
    auto loader =
        make_loader(QuerySource{"SELECT id, json_build_object('inverse', 1 / (id - 2)) AS document FROM " +
                                    orders_ + " WHERE id = ANY($1)",
                                "id"});

    const auto batch = load(loader, {"1", "2", "3", "9"});

    EXPECT_EQ(batch.rows.size(), 2U);
    EXPECT_THAT(missing_ids(batch), ElementsAre("9"));
    EXPECT_THAT(invalid_reasons(batch).at(1), HasSubstr("division by zero"));
    EXPECT_GT(batch.stats.queries, 1U);
}

// An error of the query that every row hits (here 1/0 on every row) is no
// fault of the ids: dead-lettering them would dead-letter the whole stream.
TEST_F(BatchLoaderQuery, FailsTheBatchForRetryWhenTheQueryFailsForEveryRow) {
    auto loader =
        make_loader(QuerySource{"SELECT id, json_build_object('broken', 1 / (id - id)) AS document FROM " +
                                    orders_ + " WHERE id = ANY($1)",
                                "id"});

    const auto many = loader.load(std::vector<std::string>{"1", "2", "3", "9"});
    const auto one = loader.load(std::vector<std::string>{"2"});

    ASSERT_FALSE(many);
    EXPECT_TRUE(many.status().is_retryable());
    EXPECT_THAT(many.error(), HasSubstr("division by zero (SQLSTATE 22012)"));
    EXPECT_THAT(many.error(), HasSubstr("nothing is dead-lettered"));
    ASSERT_FALSE(one);
    EXPECT_TRUE(one.status().is_retryable());
}

// A batch in which every id fails is judged by an id that loaded before: if
// the query still works for it, the failing ids are charged with their error.
TEST_F(BatchLoaderQuery, ChargesAnErrorToTheIdsWhenAnEarlierIdStillLoads) {
    auto loader =
        make_loader(QuerySource{"SELECT id, json_build_object('inverse', 1 / (id - 2)) AS document FROM " +
                                    orders_ + " WHERE id = ANY($1)",
                                "id"});
    const auto before_any_load = loader.load(std::vector<std::string>{"2"});
    ASSERT_EQ(load(loader, {"1"}).rows.size(), 1U);

    const auto batch = load(loader, {"2"});

    ASSERT_FALSE(before_any_load) << "no id is known to load yet, so the query is blamed";
    EXPECT_THAT(batch.rows, IsEmpty());
    EXPECT_THAT(invalid_reasons(batch).at(0), HasSubstr("division by zero"));
}

// An id the key type cannot hold is rejected by its own cast, before the query
// runs: it is invalid even alone, even when the query fails for every row.
TEST_F(BatchLoaderQuery, ReportsAnIdTheKeyTypeCannotHoldAsInvalidEvenAlone) {
    auto loader =
        make_loader(QuerySource{"SELECT id, json_build_object('broken', 1 / (id - id)) AS document FROM " +
                                    orders_ + " WHERE id = ANY($1)",
                                "id"});

    const auto word = load(loader, {"abc"});
    const auto past_bigint = load(loader, {"9223372036854775808"});

    EXPECT_THAT(invalid_reasons(word).at(0), HasSubstr("is not a valid bigint"));
    EXPECT_THAT(invalid_reasons(past_bigint).at(0), HasSubstr("out of range for type bigint"));
}

// A query whose id column does not hold the requested ids must not turn the
// requested ids into deletes.
TEST_F(BatchLoaderQuery, ReportsUnfoundIdsAsInvalidWhenRowsComeBackUnderOtherIds) {
    auto loader = make_loader(QuerySource{
        "SELECT id + 1000 AS id, row_to_json(o) AS document FROM " + orders_ + " o WHERE id = ANY($1)",
        "id"});

    const auto batch = load(loader, {"1", "2"});

    EXPECT_THAT(batch.rows, IsEmpty());
    EXPECT_THAT(batch.missing, IsEmpty());
    ASSERT_EQ(batch.invalid.size(), 2U);
    EXPECT_THAT(batch.invalid[0].reason, HasSubstr("matched no requested id"));
}

}  // namespace
}  // namespace indexer::testing
