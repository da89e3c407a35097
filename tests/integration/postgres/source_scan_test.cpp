// SourceScan: every id of a table exactly once, in the id column's own order,
// a page at a time, for the common key types (negative bigints, text under
// a collation that orders differently from bytes, uuid) and an empty table.
#include <indexer/postgres/source_scan.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "postgres_fixture.hpp"

namespace indexer::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class SourceScanTest : public PostgresTest {
protected:
    postgres::SourceScan make_scan(const std::string& table, const std::string& id_type) {
        postgres::BatchLoaderOptions options;
        options.pipeline = unique_name("scan");
        options.url = url();
        options.source = postgres::TableSource{table, "id"};
        auto scan = postgres::SourceScan::create(options, id_type);
        if (!scan) throw std::runtime_error("SourceScan::create failed: " + scan.error());
        return std::move(scan).value();
    }

    // Every id the scan returns, page by page; also checks each page's size.
    static std::vector<std::string> scan_all(postgres::SourceScan& scan, std::size_t page_size) {
        std::vector<std::string> all;
        while (true) {
            auto page = scan.next(page_size);
            if (!page) throw std::runtime_error("next failed: " + page.error());
            EXPECT_LE(page.value().size(), page_size);
            if (page.value().empty()) break;
            all.insert(all.end(), page.value().begin(), page.value().end());
        }
        return all;
    }

    // The table's ids as PostgreSQL orders them itself.
    std::vector<std::string> ordered_ids(const std::string& table) {
        std::vector<std::string> ids;
        for (const auto& row : exec("SELECT t.id::text AS key FROM " + table + " AS t ORDER BY t.id"))
            ids.emplace_back(row[0].c_str());
        return ids;
    }
};

TEST_F(SourceScanTest, ReturnsNegativeAndPositiveBigintIdsOnceInNumericOrder) {
    const auto table = create_table("scan_bigint", "id bigint PRIMARY KEY, name text");
    exec("INSERT INTO " + table +
         " SELECT g, 'row ' || g FROM generate_series(-120, 130) AS g "
         "UNION ALL SELECT -9223372036854775808, 'min' UNION ALL SELECT 9223372036854775807, 'max'");
    auto scan = make_scan(table, "bigint");

    const auto ids = scan_all(scan, 7);

    ASSERT_EQ(ids.size(), 253U);
    EXPECT_EQ(ids.front(), "-9223372036854775808");
    EXPECT_EQ(ids[1], "-120");
    EXPECT_EQ(ids.back(), "9223372036854775807");
    EXPECT_EQ(ids, ordered_ids(table));
    // Numeric, not textual, order: -2 comes before -10 textually but after it here.
    const auto at = [&](const std::string& id) {
        return std::find(ids.begin(), ids.end(), id) - ids.begin();
    };
    EXPECT_LT(at("-10"), at("-2"));
    EXPECT_LT(at("9"), at("10"));
}

TEST_F(SourceScanTest, ReturnsTextIdsOnceInTheColumnsCollationOrder) {
    // Under "C" upper case sorts before lower case; under und-x-icu (when the
    // server has ICU) "a" < "B" < "b". The scan follows the column's own
    // collation either way: every id once, in PostgreSQL's ORDER BY.
    const bool icu = exec("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'").size() == 1;
    for (const std::string& collation : std::vector<std::string>{"C", icu ? "und-x-icu" : "POSIX"}) {
        SCOPED_TRACE(collation);
        const auto table =
            create_table("scan_text", "id text COLLATE \"" + collation + "\" PRIMARY KEY, body text");
        exec("INSERT INTO " + table +
             " VALUES ('a', ''), ('B', ''), ('b', ''), ('_x', ''), ('Zürich', ''), ('zebra', ''), "
             "('10', ''), ('9', ''), ('', ''), ('a b', ''), ('ab', ''), ('東京', ''), ('🚀', ''), "
             "('quote''s', '')");
        auto scan = make_scan(table, "text");

        const auto ids = scan_all(scan, 3);

        EXPECT_EQ(ids, ordered_ids(table));
        EXPECT_EQ(ids.size(), 14U);
        EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 14U);
    }
}

TEST_F(SourceScanTest, ReturnsUuidIdsOnceInUuidOrder) {
    const auto table = create_table("scan_uuid", "id uuid PRIMARY KEY, n int");
    exec("INSERT INTO " + table +
         " SELECT md5(g::text)::uuid, g FROM generate_series(1, 95) AS g "
         "UNION ALL SELECT '00000000-0000-0000-0000-000000000000', 0 "
         "UNION ALL SELECT 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 96");
    auto scan = make_scan(table, "uuid");

    const auto ids = scan_all(scan, 10);

    ASSERT_EQ(ids.size(), 97U);
    EXPECT_EQ(ids.front(), "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(ids.back(), "ffffffff-ffff-ffff-ffff-ffffffffffff");
    EXPECT_EQ(ids, ordered_ids(table));
}

TEST_F(SourceScanTest, AnEmptyTableIsAnEmptyScan) {
    const auto table = create_table("scan_empty", "id bigint PRIMARY KEY");
    auto scan = make_scan(table, "bigint");

    EXPECT_THAT(scan_all(scan, 1000), IsEmpty());
    auto again = scan.next(1000);
    ASSERT_TRUE(again) << again.error();
    EXPECT_THAT(again.value(), IsEmpty());
}

TEST_F(SourceScanTest, APageOfExactlyTheTableSizeEndsWithAnEmptyPage) {
    const auto table = create_table("scan_exact", "id integer PRIMARY KEY");
    exec("INSERT INTO " + table + " SELECT g FROM generate_series(1, 10) AS g");
    auto scan = make_scan(table, "integer");

    auto first = scan.next(10);
    ASSERT_TRUE(first) << first.error();
    EXPECT_EQ(first.value().size(), 10U);
    auto second = scan.next(10);
    ASSERT_TRUE(second) << second.error();
    EXPECT_THAT(second.value(), IsEmpty());
}

TEST_F(SourceScanTest, SkipsNullIdsAndSeesRowsInsertedAheadOfThePosition) {
    const auto table = create_table("scan_nulls", "id bigint, body text");
    exec("INSERT INTO " + table + " VALUES (NULL, 'no id'), (1, ''), (2, ''), (3, '')");
    auto scan = make_scan(table, "bigint");

    auto first = scan.next(2);
    ASSERT_TRUE(first) << first.error();
    EXPECT_EQ(first.value(), (std::vector<std::string>{"1", "2"}));
    exec("INSERT INTO " + table + " VALUES (0, 'behind'), (4, 'ahead')");
    EXPECT_EQ(scan_all(scan, 2), (std::vector<std::string>{"3", "4"}));
}

TEST_F(SourceScanTest, RefusesACustomQuerySource) {
    postgres::BatchLoaderOptions options;
    options.pipeline = "custom";
    options.url = url();
    options.source =
        postgres::QuerySource{"SELECT id, '{}'::json AS document FROM t WHERE id = ANY($1)", "id"};

    auto scan = postgres::SourceScan::create(options, "bigint");

    ASSERT_FALSE(scan);
    EXPECT_THAT(scan.error(), HasSubstr("custom query"));
}

}  // namespace
}  // namespace indexer::testing
