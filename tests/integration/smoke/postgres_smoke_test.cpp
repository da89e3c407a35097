// Proves PostgreSQL from C++: a parameterised query over a real connection.
#include "support/test_services.hpp"

#include <pqxx/pqxx>

namespace {

TEST(PostgresSmoke, ParameterisedQueryReturnsTheRowsThatMatch) {
    INDEXER_REQUIRE_SERVICE(url, "INDEXER_TEST_POSTGRES");
    pqxx::connection connection(url);
    const std::string table = indexer::testing::unique_name("smoke");
    pqxx::work tx(connection);
    tx.exec0("CREATE TEMP TABLE " + tx.quote_name(table) + " (id bigint PRIMARY KEY, name text)");
    tx.exec0("INSERT INTO " + tx.quote_name(table) + " VALUES (1, 'one'), (2, 'two'), (3, 'три')");
    const pqxx::result rows = tx.exec_params(
        "SELECT id, name FROM " + tx.quote_name(table) + " WHERE id = ANY($1::bigint[]) ORDER BY id",
        "{2,3,9}");
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0][0].as<long>(), 2);
    EXPECT_EQ(rows[0][1].as<std::string>(), "two");
    EXPECT_EQ(rows[1][1].as<std::string>(), "три");
}

}  // namespace
