// BatchLoader's connections: lost connections are replaced, a database that
// refuses connections gives retryable errors until it is back, and the pool
// lets several batches load at once.
#include <indexer/postgres/batch_loader.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "postgres_fixture.hpp"

namespace indexer::testing {
namespace {

using postgres::TableSource;
using ::testing::HasSubstr;

// The test URL pointed at another database: the path of a URL, or a later
// dbname= in a key/value connection string.
std::string with_database(const std::string& url, const std::string& database) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url + " dbname=" + database;
    const auto path = url.find('/', scheme + 3);
    const auto query = url.find('?', scheme + 3);
    const std::string base = url.substr(0, path == std::string::npos ? query : path);
    return base + "/" + database + (query == std::string::npos ? "" : url.substr(query));
}

class BatchLoaderConnection : public PostgresTest {
protected:
    std::vector<int> backends_of(const std::string& pipeline) {
        std::vector<int> pids;
        pqxx::nontransaction tx(admin());
        for (const auto& row : tx.exec_params("SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                                              "indexer/" + pipeline)) {
            pids.push_back(row[0].as<int>());
        }
        return pids;
    }

    void terminate_backends_of(const std::string& pipeline) {
        pqxx::nontransaction tx(admin());
        // The timeout makes pg_terminate_backend wait until the backend is gone.
        tx.exec_params(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1",
            "indexer/" + pipeline);
    }
};

TEST_F(BatchLoaderConnection, ReplacesAConnectionKilledWhileIdle) {
    const auto table = create_table("products", "id bigint PRIMARY KEY");
    exec("INSERT INTO " + table + " VALUES (1)");
    const std::string pipeline = unique_name("killed");
    auto loader = make_loader(TableSource{table, "id"}, 1, pipeline);
    ASSERT_EQ(load(loader, {"1"}).rows.size(), 1U);
    const auto before = backends_of(pipeline);
    ASSERT_EQ(before.size(), 1U);

    terminate_backends_of(pipeline);
    const auto after_kill = loader.load(std::vector<std::string>{"1"});

    ASSERT_TRUE(after_kill.is_ok()) << after_kill.error();
    EXPECT_EQ(after_kill->rows.size(), 1U);
    const auto after = backends_of(pipeline);
    ASSERT_EQ(after.size(), 1U);
    EXPECT_NE(after[0], before[0]);
}

TEST_F(BatchLoaderConnection, ReturnsRetryableErrorsWhileTheDatabaseRefusesConnectionsThenRecovers) {
    const std::string database = unique_name("indexer_down");
    exec("CREATE DATABASE " + database);
    drop_after_test("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
    {
        pqxx::connection setup(with_database(url(), database));
        pqxx::nontransaction tx(setup);
        tx.exec("CREATE TABLE products (id bigint PRIMARY KEY); INSERT INTO products VALUES (1), (2)");
    }
    const std::string pipeline = unique_name("down");
    auto created = postgres::BatchLoader::create(
        {pipeline, with_database(url(), database), TableSource{"products", "id"}, 1, {}, {}});
    ASSERT_TRUE(created.is_ok()) << created.error();
    auto& loader = created.value();
    ASSERT_EQ(load(loader, {"1", "2"}).rows.size(), 2U);

    exec("ALTER DATABASE " + database + " WITH ALLOW_CONNECTIONS false");
    terminate_backends_of(pipeline);
    const auto while_down = loader.load(std::vector<std::string>{"1", "2"});
    const auto still_down = loader.load(std::vector<std::string>{"1", "2"});
    exec("ALTER DATABASE " + database + " WITH ALLOW_CONNECTIONS true");
    const auto after = loader.load(std::vector<std::string>{"1", "2"});

    ASSERT_FALSE(while_down.is_ok());
    EXPECT_TRUE(while_down.status().is_retryable());
    EXPECT_THAT(while_down.error(), HasSubstr("pipeline '" + pipeline + "'"));
    EXPECT_THAT(while_down.error(), HasSubstr("not currently accepting connections"));
    ASSERT_FALSE(still_down.is_ok());
    EXPECT_TRUE(still_down.status().is_retryable());
    ASSERT_TRUE(after.is_ok()) << after.error();
    EXPECT_EQ(after->rows.size(), 2U);
}

TEST_F(BatchLoaderConnection, ReportsADroppedTableAsAPermanentError) {
    const auto table = create_table("products", "id bigint PRIMARY KEY");
    auto loader = make_loader(TableSource{table, "id"});
    exec("DROP TABLE " + table);

    const auto result = loader.load(std::vector<std::string>{"1"});

    ASSERT_FALSE(result.is_ok());
    EXPECT_FALSE(result.status().is_retryable());
    EXPECT_THAT(result.error(), HasSubstr("does not exist"));
}

TEST_F(BatchLoaderConnection, LoadsConcurrentBatchesOnAtMostPoolSizeConnections) {
    const auto table = create_table("products", "id bigint PRIMARY KEY, name text");
    exec("INSERT INTO " + table + " SELECT g, 'p' || g FROM generate_series(1, 2000) g");
    const std::string pipeline = unique_name("pool");
    auto loader = make_loader(TableSource{table, "id"}, 3, pipeline);
    constexpr int kThreads = 8;
    std::vector<std::size_t> found(kThreads, 0);
    std::vector<std::string> errors(kThreads);

    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<std::string> ids;
            for (int id = 1; id <= 2000; ++id) ids.push_back(std::to_string(id));
            for (int round = 0; round < 5; ++round) {
                auto batch = loader.load(ids);
                if (!batch) {
                    errors[t] = batch.error();
                    return;
                }
                found[t] += batch->rows.size();
            }
        });
    }
    for (auto& thread : threads) thread.join();

    for (int t = 0; t < kThreads; ++t) {
        EXPECT_EQ(errors[t], "") << "thread " << t;
        EXPECT_EQ(found[t], 5U * 2000U) << "thread " << t;
    }
    const auto connections = backends_of(pipeline).size();
    EXPECT_GE(connections, 1U);
    EXPECT_LE(connections, 3U);
}

}  // namespace
}  // namespace indexer::testing
