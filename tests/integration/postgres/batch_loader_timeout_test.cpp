// BatchLoader's connection limits: a load stuck behind a lock fails after the
// statement timeout with a retryable error (and loads once the lock is gone),
// and a server that accepts connections but never answers fails the connect
// after the connect timeout, retryably, instead of hanging the pipeline.
#include <indexer/health/readiness.hpp>
#include <indexer/postgres/batch_loader.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <libpq-fe.h>

#include "postgres_fixture.hpp"
#include "support/tcp_proxy.hpp"

namespace indexer::testing {
namespace {

using namespace std::chrono_literals;
using postgres::TableSource;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

class BatchLoaderTimeouts : public PostgresTest {
protected:
    Result<postgres::BatchLoader> create(const std::string& url, const std::string& table,
                                         postgres::ConnectionLimits limits, std::string pipeline = {}) {
        if (pipeline.empty()) pipeline = unique_name("timeouts");
        return postgres::BatchLoader::create({pipeline, url, TableSource{table, "id"}, 1, limits, {}});
    }

    // The test database's host and port as libpq reads them.
    std::pair<std::string, std::uint16_t> server() const {
        char* error = nullptr;
        PQconninfoOption* options = PQconninfoParse(url().c_str(), &error);
        PQfreemem(error);
        std::string host = "127.0.0.1";
        std::uint16_t port = 5432;
        for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
            if (o->val == nullptr) continue;
            if (std::string_view(o->keyword) == "host") host = o->val;
            if (std::string_view(o->keyword) == "port") port = static_cast<std::uint16_t>(std::stoi(o->val));
        }
        PQconninfoFree(options);
        return {host, port};
    }

    // The test URL pointed at `proxy`.
    std::string through(const TcpProxy& proxy) const {
        return health::with_connection_option(health::with_connection_option(url(), "host", "127.0.0.1"),
                                              "port", std::to_string(proxy.port()));
    }
};

TEST_F(BatchLoaderTimeouts, ALoadBlockedByAnExclusiveLockFailsRetryablyAfterTheStatementTimeout) {
    const auto table = create_table("locked", "id bigint PRIMARY KEY");
    exec("INSERT INTO " + table + " VALUES (1)");
    auto loader = create(url(), table, {5s, 500ms});
    ASSERT_TRUE(loader.is_ok()) << loader.error();

    pqxx::connection holder(url());
    auto lock = std::make_unique<pqxx::work>(holder);
    lock->exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
    const auto started = Clock::now();
    const auto blocked = loader->load(std::vector<std::string>{"1"});
    const auto waited = Clock::now() - started;
    lock->abort();  // the lock goes only now: the load did not wait for it
    lock.reset();
    const auto after = loader->load(std::vector<std::string>{"1"});

    ASSERT_FALSE(blocked.is_ok());
    EXPECT_TRUE(blocked.status().is_retryable()) << blocked.error();
    EXPECT_THAT(blocked.error(), HasSubstr("57014"));
    EXPECT_GE(waited, 450ms);
    EXPECT_LT(waited, 1500ms);
    ASSERT_TRUE(after.is_ok()) << after.error();
    EXPECT_EQ(after->rows.size(), 1U);
}

TEST_F(BatchLoaderTimeouts, ALockTimeoutTheUserSetIsKeptAndRetryable) {
    const auto table = create_table("lock_timeout", "id bigint PRIMARY KEY");
    auto loader =
        create(health::with_connection_option(url(), "options", "-c%20lock_timeout%3D200"), table, {5s, 10s});
    ASSERT_TRUE(loader.is_ok()) << loader.error();

    pqxx::connection holder(url());
    pqxx::work lock(holder);
    lock.exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
    const auto started = Clock::now();
    const auto blocked = loader->load(std::vector<std::string>{"1"});
    const auto waited = Clock::now() - started;

    ASSERT_FALSE(blocked.is_ok());
    EXPECT_TRUE(blocked.status().is_retryable()) << blocked.error();
    EXPECT_THAT(blocked.error(), HasSubstr("55P03"));
    EXPECT_LT(waited, 5s);
}

TEST_F(BatchLoaderTimeouts, CreateFailsRetryablyAfterTheConnectTimeoutWhenTheServerNeverAnswers) {
    const auto [host, port] = server();
    TcpProxy black_hole(host, port);
    black_hole.start();
    black_hole.pause(true);  // accepts, never answers

    const auto started = Clock::now();
    const auto created = create(through(black_hole), "anything", {2s, 30s});
    const auto waited = Clock::now() - started;

    ASSERT_FALSE(created.is_ok());
    EXPECT_TRUE(created.status().is_retryable()) << created.error();
    EXPECT_THAT(created.error(), AnyOf(HasSubstr("timeout"), HasSubstr("timed out")));
    EXPECT_GE(waited, 1500ms);
    EXPECT_LT(waited, 4s);
    EXPECT_GE(black_hole.connections_accepted(), 1U);
}

TEST_F(BatchLoaderTimeouts, LoadFailsRetryablyAfterTheConnectTimeoutWhenTheServerStopsAnswering) {
    const auto table = create_table("black_hole", "id bigint PRIMARY KEY");
    exec("INSERT INTO " + table + " VALUES (1)");
    const auto [host, port] = server();
    TcpProxy proxy(host, port);
    proxy.start();
    auto loader = create(through(proxy), table, {2s, 30s});
    ASSERT_TRUE(loader.is_ok()) << loader.error();
    ASSERT_TRUE(loader->load(std::vector<std::string>{"1"}).is_ok());

    proxy.stop();  // the pool's connection is cut ...
    proxy.start();
    proxy.pause(true);  // ... and the reconnection finds a server that never answers
    const auto started = Clock::now();
    const auto result = loader->load(std::vector<std::string>{"1"});
    const auto waited = Clock::now() - started;
    proxy.pause(false);
    const auto recovered = loader->load(std::vector<std::string>{"1"});

    ASSERT_FALSE(result.is_ok());
    EXPECT_TRUE(result.status().is_retryable()) << result.error();
    EXPECT_LT(waited, 4s);
    ASSERT_TRUE(recovered.is_ok()) << recovered.error();
    EXPECT_EQ(recovered->rows.size(), 1U);
}

}  // namespace
}  // namespace indexer::testing
