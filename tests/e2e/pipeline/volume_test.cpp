// How many ids and which: one id announced many times in a batch is loaded and
// written once, ids of rows that never existed create nothing and are not bad
// input, and fifty thousand ids in one run end as fifty thousand documents
// equal to their rows.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

std::string elasticsearch_pipeline(const std::string& brokers, const std::string& postgres,
                                   const std::string& name, const std::string& elasticsearch,
                                   const std::string& batch) {
    return fmt::format(R"(
http: {{listen: "{listen}"}}
kafka:
  brokers: {brokers}
postgres:
  url: {postgres}
logging: {{level: debug, format: text}}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {batch}
)",
                       fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                       fmt::arg("postgres", postgres), fmt::arg("name", name),
                       fmt::arg("elasticsearch", elasticsearch), fmt::arg("batch", batch));
}

TEST(Volume, AnIdAnnouncedManyTimesInOneBatchIsWrittenOnce) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("dups");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'row ' || g FROM generate_series(1, 20) g",
                    name));
    create_topic(brokers, name, 1);

    // Id 7 fifty times among the twenty ids, in every spelling of 7, all
    // published before the indexer starts so that they make one batch.
    TestProducer producer(brokers);
    for (int id = 1; id <= 20; ++id) {
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
        if (id % 2 == 0) {
            for (const char* seven :
                 {R"({"id": 7})", R"({"id": "7"})", "7", R"({"id": "007"})", R"({"id": " +7"})"})
                producer.send(name, "7", seven);
        }
    }
    producer.flush();
    IndexerProcess indexer(name, elasticsearch_pipeline(brokers, postgres, name, elasticsearch,
                                                        "{max_messages: 1000, max_wait: 2s}"));

    const auto found = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers, name, name, 70, seconds(60)), 70) << indexer.output();

    // One batch of 70 messages: 20 upserts, and each document was written once.
    // (The log's "ids" counts distinct texts, "7", "007" and " +7" apart; the
    // loader makes them one row.)
    const auto lines = batch_lines(indexer.output());
    ASSERT_EQ(lines.size(), 1u) << indexer.output();
    EXPECT_EQ(lines[0].messages, 70);
    EXPECT_LT(lines[0].ids, 70);
    EXPECT_EQ(lines[0].upserts, 20);
    EXPECT_EQ(lines[0].deletes, 0);
    EXPECT_EQ(lines[0].dead_letters, 0);
    std::vector<std::string> ids;
    for (int id = 1; id <= 20; ++id) ids.push_back(std::to_string(id));
    const auto versions = document_versions(elasticsearch, name, ids);
    ASSERT_EQ(versions.size(), 20u);
    for (const auto& [id, version] : versions) EXPECT_EQ(version, 1) << "document " << id;

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

TEST(Volume, IdsOfRowsThatNeverExistedCreateNothingAndAreNotDeadLettered) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("ghosts");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'row ' || g FROM generate_series(1, 10) g",
                    name));
    create_topic(brokers, name, 2);
    create_topic(brokers, name + "-dead-letter", 1);
    IndexerProcess indexer(name, elasticsearch_pipeline(brokers, postgres, name, elasticsearch,
                                                        "{max_messages: 25, max_wait: 100ms}"));

    // Ten real ids among a hundred that never existed (the largest bigint too),
    // and a batch made of ghosts only.
    TestProducer producer(brokers);
    for (int id = 1; id <= 10; ++id) {
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
        for (int ghost = 0; ghost < 10; ++ghost) {
            const long long ghost_id = 1'000'000LL * id + ghost;
            producer.send(name, std::to_string(ghost_id), fmt::format(R"({{"id": {}}})", ghost_id));
        }
    }
    producer.send(name, "0", R"({"id": 0})");
    producer.send(name, "-1", R"({"id": -1})");
    producer.send(name, "max", R"({"id": 9223372036854775807})");
    producer.flush();

    const auto found = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers, name, name, 113, seconds(60)), 113) << indexer.output();
    EXPECT_EQ(index.count(), 10);
    EXPECT_TRUE(read_topic(brokers, name + "-dead-letter", 1, seconds(3)).empty()) << indexer.output();

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

TEST(Volume, FiftyThousandIdsInOneRunEndAsFiftyThousandEqualDocuments) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
    INDEXER_REQUIRE_SERVICE(memcached, "INDEXER_TEST_MEMCACHED");

    constexpr int kRows = 50'000;
    const std::string name = unique_name("volume");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    database.execute(fmt::format(
        "CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags text[], "
        "in_stock boolean, updated_at timestamptz NOT NULL DEFAULT now());"
        "INSERT INTO {0} (id, name, price, tags, in_stock) SELECT g, 'product ' || g || ' – ü', g * 0.01, "
        "ARRAY['t' || (g % 7), 'ü'], g % 3 = 0 FROM generate_series(1, {1}) g",
        name, kRows));
    create_topic(brokers, name, 4);
    const std::string config =
        fmt::format(R"(
http: {{listen: "{listen}"}}
kafka:
  brokers: {brokers}
postgres:
  url: {postgres}
pipelines:
  - name: {name}-es
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 5000, max_wait: 500ms}}
  - name: {name}-mc
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: memcached, config: {{servers: ["{memcached}"], key_template: "{name}:{{id}}"}}}}
    batch: {{max_messages: 5000, max_wait: 500ms}}
)",
                    fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                    fmt::arg("postgres", postgres), fmt::arg("name", name),
                    fmt::arg("elasticsearch", elasticsearch), fmt::arg("memcached", memcached));
    // The index is made for bulk loading (no refresh until the count asks for one).
    create_index(elasticsearch, name,
                 {{"settings", {{"number_of_replicas", 0}, {"refresh_interval", "-1"}}}});
    IndexerProcess indexer(name, config);

    TestProducer producer(brokers);
    std::vector<std::string> ids;
    ids.reserve(kRows);
    for (int id = 1; id <= kRows; ++id) {
        ids.push_back(std::to_string(id));
        producer.send(name, ids.back(), fmt::format(R"({{"id": {}}})", id));
    }
    producer.flush();

    const auto rows = database.rows(name);
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(kRows));
    const auto es_differences = wait_until_index_holds(index, rows, seconds(150));
    EXPECT_TRUE(es_differences.empty()) << "Elasticsearch:" << summarize(es_differences) << "\n"
                                        << indexer.output();
    const auto cache_differences =
        wait_until_cache_matches(database, name, ids, memcached, name + ":", seconds(60));
    EXPECT_TRUE(cache_differences.empty()) << "memcached:" << summarize(cache_differences);
    EXPECT_EQ(wait_until_committed(brokers, name + "-es", name, kRows, seconds(30)), kRows);
    EXPECT_EQ(wait_until_committed(brokers, name + "-mc", name, kRows, seconds(30)), kRows);

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

}  // namespace
}  // namespace indexer::testing
