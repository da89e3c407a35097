// BatchLoader::create: a source that cannot work is a start-up error naming the
// pipeline and showing PostgreSQL's message; an unreachable database is a
// retryable error, not a crash.
#include <indexer/postgres/batch_loader.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "postgres_fixture.hpp"

namespace indexer::testing {
namespace {

using postgres::BatchLoader;
using postgres::QuerySource;
using postgres::TableSource;
using ::testing::AllOf;
using ::testing::HasSubstr;

class BatchLoaderStartup : public PostgresTest {
protected:
    Status create_error(postgres::Source source, const std::string& url_override = {}) {
        auto loader = BatchLoader::create(
            {"orders-to-search", url_override.empty() ? url() : url_override, std::move(source), 1, {}, {}});
        EXPECT_FALSE(loader.is_ok()) << "create succeeded";
        return loader.is_ok() ? Status::ok() : loader.status();
    }
};

TEST_F(BatchLoaderStartup, RejectsAMissingTableNamingThePipeline) {
    const auto status = create_error(TableSource{unique_name("no_such_table"), "id"});

    EXPECT_THAT(status.message(),
                AllOf(HasSubstr("pipeline 'orders-to-search'"), HasSubstr("does not exist")));
    EXPECT_FALSE(status.is_retryable());
}

TEST_F(BatchLoaderStartup, RejectsAMissingIdColumnListingTheColumns) {
    const auto table = create_table("products", "product_id bigint PRIMARY KEY, name text");

    const auto status = create_error(TableSource{table, "id"});

    EXPECT_THAT(status.message(), AllOf(HasSubstr("pipeline 'orders-to-search'"),
                                        HasSubstr("has no column \"id\""), HasSubstr("product_id, name")));
    EXPECT_FALSE(status.is_retryable());
}

TEST_F(BatchLoaderStartup, TreatsATableNameAsANameNotAsSql) {
    const auto table = create_table("victim", "id bigint PRIMARY KEY");

    const auto status = create_error(TableSource{table + "; DROP TABLE " + table, "id"});

    EXPECT_THAT(status.message(), HasSubstr("pipeline 'orders-to-search'"));
    EXPECT_EQ(exec("SELECT to_regclass('" + table + "') IS NOT NULL")[0][0].as<bool>(), true);
}

TEST_F(BatchLoaderStartup, RejectsABrokenQueryShowingPostgresMessage) {
    const auto status =
        create_error(QuerySource{"SELEC id, row_to_json(t) AS document FROM t WHERE id = ANY($1)", "id"});

    EXPECT_THAT(status.message(), AllOf(HasSubstr("pipeline 'orders-to-search'"), HasSubstr("syntax error"),
                                        HasSubstr("SELEC")));
    EXPECT_FALSE(status.is_retryable());
}

TEST_F(BatchLoaderStartup, RejectsAQueryOverAMissingTable) {
    const auto missing = unique_name("missing");

    const auto status = create_error(
        QuerySource{"SELECT id, row_to_json(t) AS document FROM " + missing + " t WHERE id = ANY($1)", "id"});

    EXPECT_THAT(status.message(), AllOf(HasSubstr("pipeline 'orders-to-search'"),
                                        HasSubstr("relation \"" + missing + "\" does not exist")));
}

TEST_F(BatchLoaderStartup, RejectsAQueryWithoutTheDocumentColumnExplainingTheContract) {
    const auto table = create_table("products", "id bigint PRIMARY KEY");

    const auto status = create_error(
        QuerySource{"SELECT id, row_to_json(t) AS doc FROM " + table + " t WHERE id = ANY($1)", "id"});

    EXPECT_THAT(status.message(), AllOf(HasSubstr("document"), HasSubstr("does not exist"),
                                        HasSubstr("returns the id column \"id\" and a column \"document\"")));
}

TEST_F(BatchLoaderStartup, RejectsADocumentColumnThatIsNoJson) {
    const auto table = create_table("products", "id bigint PRIMARY KEY");

    const auto status =
        create_error(QuerySource{"SELECT id, 42 AS document FROM " + table + " WHERE id = ANY($1)", "id"});

    EXPECT_THAT(status.message(), HasSubstr("must be json, jsonb or text, but it is integer"));
}

TEST_F(BatchLoaderStartup, RejectsAQueryWithoutTheIdArrayParameter) {
    const auto table = create_table("products", "id bigint PRIMARY KEY");

    const auto none =
        create_error(QuerySource{"SELECT id, row_to_json(t) AS document FROM " + table + " t", "id"});
    const auto scalar = create_error(
        QuerySource{"SELECT id, row_to_json(t) AS document FROM " + table + " t WHERE id = $1", "id"});
    const auto two = create_error(QuerySource{
        "SELECT id, row_to_json(t) AS document FROM " + table + " t WHERE id = ANY($1) AND id > $2", "id"});

    EXPECT_THAT(none.message(), HasSubstr("exactly one parameter, $1 (the array of ids), but it has 0"));
    EXPECT_THAT(scalar.message(), HasSubstr("$1 must be the array of ids"));
    EXPECT_THAT(scalar.message(), HasSubstr("reads it as bigint"));
    EXPECT_THAT(two.message(), HasSubstr("but it has 2"));
}

TEST_F(BatchLoaderStartup, RejectsAQueryThatModifiesData) {
    const auto table = create_table("products", "id bigint PRIMARY KEY");

    const auto status = create_error(QuerySource{
        "DELETE FROM " + table + " WHERE id = ANY($1) RETURNING id, row_to_json(" + table + ") AS document",
        "id"});

    EXPECT_THAT(status.message(), HasSubstr("syntax error"));
}

TEST_F(BatchLoaderStartup, ReportsAnUnreachableDatabaseAsRetryable) {
    // Port 1 is privileged and unused: the connection is refused at once.
    const auto status =
        create_error(TableSource{"products", "id"}, "postgresql://postgres@127.0.0.1:1/indexer_test");

    EXPECT_TRUE(status.is_retryable());
    EXPECT_THAT(status.message(),
                AllOf(HasSubstr("pipeline 'orders-to-search'"), HasSubstr("Connection refused")));
}

TEST_F(BatchLoaderStartup, RejectsAnEmptySourceOrPool) {
    EXPECT_THAT(create_error(TableSource{"", "id"}).message(), HasSubstr("needs a table"));
    EXPECT_THAT(create_error(TableSource{"products", ""}).message(), HasSubstr("needs an id column"));
    EXPECT_THAT(create_error(QuerySource{"", "id"}).message(), HasSubstr("query is empty"));
    auto zero = BatchLoader::create({"p", url(), TableSource{"products", "id"}, 0, {}, {}});
    ASSERT_FALSE(zero.is_ok());
    EXPECT_THAT(zero.error(), HasSubstr("pool size must be at least 1"));
}

}  // namespace
}  // namespace indexer::testing
