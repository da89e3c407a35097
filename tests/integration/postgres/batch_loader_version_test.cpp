// BatchLoader with a version expression: what the versions of upserts and
// deletes are for timestamp and integer expressions, rows whose version cannot
// be one, and expressions refused at start-up.
#include <indexer/postgres/batch_loader.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>

#include "postgres_fixture.hpp"

namespace indexer::testing {
namespace {

using postgres::QuerySource;
using postgres::TableSource;
using postgres::VersionKind;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// 2026-01-02 03:04:05.123456 UTC in microseconds since 1970.
constexpr std::uint64_t kJanuarySecond = 1'767'323'045'123'456;

class BatchLoaderVersion : public PostgresTest {
protected:
    Result<postgres::BatchLoader> create(postgres::Source source, std::string version, std::string url = {}) {
        postgres::BatchLoaderOptions options;
        options.pipeline = unique_name("pipeline");
        options.url = url.empty() ? this->url() : url;
        options.source = std::move(source);
        options.version = std::move(version);
        return postgres::BatchLoader::create(std::move(options));
    }

    postgres::BatchLoader make(postgres::Source source, std::string version, std::string url = {}) {
        auto loader = create(std::move(source), std::move(version), std::move(url));
        if (!loader) throw std::runtime_error("BatchLoader::create failed: " + loader.error());
        return std::move(loader).value();
    }

    static std::map<std::string, std::uint64_t> versions(const postgres::LoadedBatch& batch) {
        std::map<std::string, std::uint64_t> by_id;
        for (const auto& row : batch.rows) by_id[row.id] = row.version;
        return by_id;
    }

    std::uint64_t database_clock() {
        return exec("SELECT floor(extract(epoch FROM clock_timestamp()) * 1000000)::int8")[0][0]
            .as<std::uint64_t>();
    }
};

TEST_F(BatchLoaderVersion, TimestampWithTimeZoneBecomesMicrosecondsSince1970) {
    const auto table = create_table("stamped", "id bigint PRIMARY KEY, name text, updated_at timestamptz");
    exec("INSERT INTO " + table +
         " VALUES (1, 'a', '2026-01-02 03:04:05.123456+00'), "
         "(2, 'b', '2026-01-02 05:04:05.123457+02')");
    auto loader = make(TableSource{table, "id"}, "updated_at");
    EXPECT_EQ(loader.version_kind(), VersionKind::timestamp);
    EXPECT_EQ(loader.version_type(), "timestamp with time zone");

    const auto batch = load(loader, {"1", "2"});

    EXPECT_EQ(versions(batch),
              (std::map<std::string, std::uint64_t>{{"1", kJanuarySecond}, {"2", kJanuarySecond + 1}}));
}

TEST_F(BatchLoaderVersion, TimestampWithoutTimeZoneIsReadAsUtcWhateverTheSessionTimeZone) {
    const auto table = create_table("naive", "id bigint PRIMARY KEY, updated_at timestamp");
    exec("INSERT INTO " + table + " VALUES (1, '2026-01-02 03:04:05.123456')");
    // The loader's session runs in Tokyo: the version must not move by nine hours.
    const std::string tokyo =
        url() + (url().find('?') == std::string::npos ? "?" : "&") + "options=-c%20TimeZone%3DAsia%2FTokyo";
    auto loader = make(TableSource{table, "id"}, "updated_at", tokyo);
    EXPECT_EQ(loader.version_type(), "timestamp without time zone");

    EXPECT_EQ(versions(load(loader, {"1"})).at("1"), kJanuarySecond);
}

TEST_F(BatchLoaderVersion, IntegerExpressionIsTheVersionAsItIs) {
    const auto table = create_table("locked", "id bigint PRIMARY KEY, lock_version integer NOT NULL");
    exec("INSERT INTO " + table + " VALUES (1, 0), (2, 41), (3, 2147483647)");
    auto loader = make(TableSource{table, "id"}, "lock_version::bigint + 1");
    EXPECT_EQ(loader.version_kind(), VersionKind::integer);

    const auto batch = load(loader, {"1", "2", "3"});

    EXPECT_EQ(versions(batch),
              (std::map<std::string, std::uint64_t>{{"1", 1}, {"2", 42}, {"3", 2147483648ULL}}));
}

TEST_F(BatchLoaderVersion, LargestBigintIsAVersionAndTheDocumentIsUnchanged) {
    const auto table = create_table("widest", "id bigint PRIMARY KEY, v bigint");
    exec("INSERT INTO " + table + " VALUES (1, 9223372036854775807)");
    auto loader = make(TableSource{table, "id"}, "v");

    const auto batch = load(loader, {"1"});

    EXPECT_EQ(versions(batch).at("1"), 9223372036854775807ULL);
    EXPECT_EQ(documents(batch).at("1"), R"({"id":1,"v":9223372036854775807})");
}

TEST_F(BatchLoaderVersion, DeletesCarryTheStartOfTheLoadOnTheDatabaseClock) {
    const auto table = create_table("gone", "id bigint PRIMARY KEY, updated_at timestamptz NOT NULL");
    exec("INSERT INTO " + table + " VALUES (1, clock_timestamp()), (2, clock_timestamp())");
    auto loader = make(TableSource{table, "id"}, "updated_at");
    const std::uint64_t last_upsert = versions(load(loader, {"2"})).at("2");
    exec("DELETE FROM " + table + " WHERE id = 2");

    const std::uint64_t before = database_clock();
    const auto batch = load(loader, {"1", "2", "3"});
    const std::uint64_t after = database_clock();

    ASSERT_EQ(batch.missing.size(), 2U);
    for (const auto& missing : batch.missing) {
        EXPECT_GT(missing.version, last_upsert) << missing.id;
        EXPECT_GE(missing.version, before) << missing.id;
        EXPECT_LE(missing.version, after) << missing.id;
    }
    // The row that is still there keeps its own version.
    EXPECT_LT(versions(batch).at("1"), before);

    // A row inserted again after the delete beats the delete's version.
    exec("INSERT INTO " + table + " VALUES (2, clock_timestamp())");
    EXPECT_GT(versions(load(loader, {"2"})).at("2"), batch.missing.front().version);
}

TEST_F(BatchLoaderVersion, IntegerVersionsLeaveDeletesUnversioned) {
    const auto table = create_table("gone_int", "id bigint PRIMARY KEY, lock_version integer NOT NULL");
    exec("INSERT INTO " + table + " VALUES (1, 7)");
    auto loader = make(TableSource{table, "id"}, "lock_version");

    const auto batch = load(loader, {"1", "2"});

    EXPECT_EQ(versions(batch).at("1"), 7U);
    ASSERT_EQ(batch.missing.size(), 1U);
    EXPECT_EQ(batch.missing.front().version, 0U);
}

TEST_F(BatchLoaderVersion, RowsWhoseVersionCannotBeOneAreInvalidAndTheRestLoads) {
    const auto ints = create_table("bad_int", "id bigint PRIMARY KEY, v bigint");
    exec("INSERT INTO " + ints + " VALUES (1, NULL), (2, 0), (3, -9223372036854775808), (4, 5)");
    auto int_loader = make(TableSource{ints, "id"}, "v");

    const auto int_batch = load(int_loader, {"1", "2", "3", "4"});

    EXPECT_EQ(versions(int_batch), (std::map<std::string, std::uint64_t>{{"4", 5}}));
    const auto int_reasons = invalid_reasons(int_batch);
    ASSERT_EQ(int_reasons.size(), 3U);
    EXPECT_THAT(int_reasons.at(0), AllOf(HasSubstr("`v`"), HasSubstr("NULL")));
    EXPECT_THAT(int_reasons.at(1), AllOf(HasSubstr("`v`"), HasSubstr("is 0"), HasSubstr("+ 1")));
    EXPECT_THAT(int_reasons.at(2), HasSubstr("is -9223372036854775808"));

    const auto stamps = create_table("bad_stamp", "id bigint PRIMARY KEY, changed timestamptz");
    exec("INSERT INTO " + stamps +
         " VALUES (1, 'infinity'), (2, '-infinity'), (3, '1969-12-31 23:59:59+00'), "
         "(4, '1970-01-01 00:00:00+00'), (5, '294276-12-31 23:59:59.999999+00'), (6, '2026-01-02 "
         "03:04:05.123456+00')");
    auto stamp_loader = make(TableSource{stamps, "id"}, "changed");

    const auto stamp_batch = load(stamp_loader, {"1", "2", "3", "4", "5", "6"});

    EXPECT_EQ(versions(stamp_batch), (std::map<std::string, std::uint64_t>{{"6", kJanuarySecond}}));
    const auto stamp_reasons = invalid_reasons(stamp_batch);
    ASSERT_EQ(stamp_reasons.size(), 5U);
    EXPECT_THAT(stamp_reasons.at(0), AllOf(HasSubstr("`changed`"), HasSubstr("is Infinity")));
    EXPECT_THAT(stamp_reasons.at(1), HasSubstr("is -Infinity"));
    EXPECT_THAT(stamp_reasons.at(2), HasSubstr("is -1000000"));
    EXPECT_THAT(stamp_reasons.at(3), HasSubstr("is 0"));
    // PostgreSQL's latest timestamp lies beyond 2^63-1 microseconds since 1970.
    EXPECT_THAT(stamp_reasons.at(4), AllOf(HasSubstr("is 92243180"), HasSubstr("2^63-1")));
}

TEST_F(BatchLoaderVersion, CustomQueryVersionIsAnExpressionOverItsResultColumns) {
    const auto table = create_table("queried", "id bigint PRIMARY KEY, body text, edited timestamptz");
    exec("INSERT INTO " + table + " VALUES (1, 'x', '2026-01-02 03:04:05.123456+00')");
    const std::string query =
        "SELECT t.id, json_build_object('body', t.body) AS document, t.edited AS changed "
        "FROM " +
        table + " t WHERE t.id = ANY($1)";
    auto loader = make(QuerySource{query, "id"}, "changed + interval '1 microsecond'");

    const auto batch = load(loader, {"1", "2"});

    EXPECT_EQ(versions(batch).at("1"), kJanuarySecond + 1);
    EXPECT_EQ(documents(batch).at("1"), R"({"body" : "x"})");
    ASSERT_EQ(batch.missing.size(), 1U);
    EXPECT_GT(batch.missing.front().version, kJanuarySecond);
}

TEST_F(BatchLoaderVersion, DomainOverBigintIsAnIntegerVersion) {
    const std::string domain = unique_name("revision");
    exec("CREATE DOMAIN " + domain + " AS bigint CHECK (VALUE > 0)");
    drop_after_test("DROP DOMAIN IF EXISTS " + domain + " CASCADE");
    const auto table = create_table("domained", "id bigint PRIMARY KEY, revision " + domain);
    exec("INSERT INTO " + table + " VALUES (1, 3)");
    auto loader = make(TableSource{table, "id"}, "revision");

    EXPECT_EQ(loader.version_kind(), VersionKind::integer);
    EXPECT_EQ(versions(load(loader, {"1"})).at("1"), 3U);
}

TEST_F(BatchLoaderVersion, ExpressionsThatCannotOrderVersionsStopStartUpNamingTheExpression) {
    const auto table = create_table("refused", "id bigint PRIMARY KEY, title text, price numeric, day date");
    const std::map<std::string, std::string> expected{
        {"updated_at", "column \"updated_at\" does not exist"},
        {"title", "is of type text"},
        {"price", "is of type numeric"},
        {"day", "is of type date"},
        {"count(*)", "GROUP BY"},
        {"id) FROM pg_class; SELECT (1", "cannot insert multiple commands"},
    };
    for (const auto& [expression, why] : expected) {
        const auto loader = create(TableSource{table, "id"}, expression);
        ASSERT_FALSE(loader) << expression;
        EXPECT_THAT(loader.error(),
                    AllOf(HasSubstr("version expression `" + expression + "`"), HasSubstr(why)));
        EXPECT_FALSE(loader.status().is_retryable()) << expression;
    }
}

}  // namespace
}  // namespace indexer::testing
