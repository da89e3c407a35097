// A migration leaves a column that the source casts unreadable in every row
// (SQLSTATE 22P02 for each id): the indexer pauses and retries the batch
// instead of dead-lettering the stream, commits nothing past it, and once the
// data is repaired except one row, that row's message alone is dead-lettered
// and every other id is indexed.
#include "e2e/resilience/resilience.hpp"
#include "support/e2e_extra.hpp"
#include "support/test_services.hpp"

namespace indexer::testing::resilience {
namespace {

TEST(QueryWideDataError, RetriesWhileNoRowCastsAndDeadLettersOnlyTheRowThatStillDoesNot) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
    constexpr int kRows = 50;
    constexpr int kBadRow = 7;

    const std::string name = unique_name("data_error");
    const std::string view = name + "_view";
    const std::string dead_letters = name + "-dead-letter";
    Cleanup cleanup;
    const Database database(postgres);
    cleanup.add([database, name, view] {
        database.execute("DROP VIEW IF EXISTS " + view + "; DROP TABLE IF EXISTS " + name);
    });
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, price text NOT NULL);"
                    "INSERT INTO {0} SELECT g, '1.5' FROM generate_series(1, {1}) g;"
                    "CREATE VIEW {2} AS SELECT id, price::numeric AS price FROM {0}",
                    name, kRows, view));
    create_topic(brokers, name, 2);
    create_topic(brokers, dead_letters, 1);
    const SearchIndex index(elasticsearch, name);
    cleanup.add([index] { index.remove(); });

    const std::string config =
        fmt::format(R"(
kafka:
  brokers: {brokers}
http:
  listen: "{listen}"
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {view}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
    retry: {{initial: 100ms, max: 1s}}
)",
                    fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                    fmt::arg("postgres", postgres), fmt::arg("name", name), fmt::arg("view", view),
                    fmt::arg("elasticsearch", elasticsearch));
    IndexerProcess indexer(name, config);
    const auto announce_all = [&] {
        TestProducer producer(brokers);
        for (int id = 1; id <= kRows; ++id)
            producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
        producer.flush();
    };
    announce_all();
    auto mismatches = wait_until_index_matches(database, view, index, seconds(90));
    ASSERT_TRUE(mismatches.empty()) << summarize(mismatches) << indexer.output();
    ASSERT_EQ(wait_until_committed(brokers, name, name, kRows, seconds(30)), kRows);

    // No row's price casts any more: every id fails on its own.
    database.execute("UPDATE " + name + " SET price = 'n/a'");
    announce_all();
    ASSERT_TRUE(
        eventually([&] { return logged(indexer.output(), "warn", "nothing is dead-lettered"); }, seconds(60)))
        << indexer.output();
    std::this_thread::sleep_for(seconds(5));  // several retries
    const std::string log_while_broken = indexer.output();
    EXPECT_TRUE(logged(log_while_broken, "warn", "SQLSTATE 22P02")) << log_while_broken;
    EXPECT_TRUE(read_topic(brokers, dead_letters, 1, seconds(3)).empty())
        << "ids were dead-lettered for an error every row shares";
    EXPECT_EQ(committed_total(committed_offsets(brokers, name, name)), kRows)
        << "the batch that cannot load was committed";
    EXPECT_TRUE(indexer.process().running()) << log_while_broken;

    // Repaired except one row: the waiting batch loads, that row alone is dead-lettered.
    database.execute(fmt::format("UPDATE {} SET price = CASE WHEN id = {} THEN 'still n/a' ELSE '2.5' END",
                                 name, kBadRow));
    ASSERT_EQ(wait_until_committed(brokers, name, name, 2 * kRows, seconds(60)), 2 * kRows)
        << indexer.output();
    const auto letters = read_topic(brokers, dead_letters, 2, seconds(10));
    ASSERT_EQ(letters.size(), 1u) << indexer.output();
    EXPECT_EQ(letters[0].key, std::to_string(kBadRow));
    EXPECT_EQ(letters[0].headers.at("indexer.stage"), "id-type");
    EXPECT_NE(letters[0].headers.at("indexer.reason").find("invalid input syntax for type numeric"),
              std::string::npos)
        << letters[0].headers.at("indexer.reason");
    std::vector<std::string> repaired;
    for (const std::string& id : id_range(1, kRows)) {
        if (id != std::to_string(kBadRow)) repaired.push_back(id);
    }
    for (const auto& [id, document] : index.get(repaired)) {
        EXPECT_EQ(document.at("price"), nlohmann::json(2.5)) << "id " << id;
    }
    EXPECT_EQ(index.get(repaired).size(), repaired.size());
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

}  // namespace
}  // namespace indexer::testing::resilience
