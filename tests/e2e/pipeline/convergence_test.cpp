// The main job as a user runs it: rows change in PostgreSQL, their ids are
// published, and Elasticsearch, OpenSearch and memcached end up holding
// exactly what the database holds, document by document and field by field.
#include "support/e2e.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

TEST(Convergence, ElasticsearchOpenSearchAndMemcachedConvergeToTheDatabase) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
    INDEXER_REQUIRE_SERVICE(opensearch, "INDEXER_TEST_OPENSEARCH");
    INDEXER_REQUIRE_SERVICE(memcached, "INDEXER_TEST_MEMCACHED");

    const std::string name = unique_name("converge");
    const Database database(postgres);
    database.execute(fmt::format(
        "CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags text[], "
        "in_stock boolean, updated_at timestamptz NOT NULL DEFAULT now());"
        "INSERT INTO {0} (id, name, price, tags, in_stock) SELECT g, 'product ' || g, g * 1.25, "
        "ARRAY['t' || (g % 5), 'ünï ' || g], g % 2 = 0 FROM generate_series(1, 300) g",
        name));
    create_topic(brokers, name, 4);

    const std::string config =
        fmt::format(R"(
kafka:
  brokers: {brokers}
postgres:
  url: {postgres}
pipelines:
  - name: {name}-es
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}-es}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
  - name: {name}-os
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{opensearch}"], index: {name}-os}}}}
  - name: {name}-mc
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: memcached, config: {{servers: ["{memcached}"], key_template: "{name}:{{id}}"}}}}
)",
                    fmt::arg("brokers", brokers), fmt::arg("postgres", postgres), fmt::arg("name", name),
                    fmt::arg("elasticsearch", elasticsearch), fmt::arg("opensearch", opensearch),
                    fmt::arg("memcached", memcached));
    IndexerProcess indexer(name, config);

    // Inserts: every row announced once.
    TestProducer producer(brokers);
    for (int id = 1; id <= 300; ++id)
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    producer.flush();

    // Updates, deletes and ids that never existed, announced as applications do.
    database.execute(fmt::format(
        "UPDATE {0} SET price = price + 100, name = name || ' (new)', tags = NULL WHERE id % 10 = 0;"
        "DELETE FROM {0} WHERE id BETWEEN 291 AND 300 OR id = 5",
        name));
    for (int id = 10; id <= 300; id += 10)
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    for (int id : {5, 291, 292, 293, 294, 295, 296, 297, 298, 299, 1000001, 1000002}) {
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    }
    producer.flush();

    const SearchIndex es_index(elasticsearch, name + "-es");
    const SearchIndex os_index(opensearch, name + "-os");
    const auto es_differences = wait_until_index_matches(database, name, es_index, seconds(90));
    EXPECT_TRUE(es_differences.empty()) << "Elasticsearch:" << summarize(es_differences) << indexer.output();
    const auto os_differences = wait_until_index_matches(database, name, os_index, seconds(90));
    EXPECT_TRUE(os_differences.empty()) << "OpenSearch:" << summarize(os_differences);

    std::vector<std::string> ids;
    for (int id = 1; id <= 300; ++id) ids.push_back(std::to_string(id));
    ids.push_back("1000001");
    const auto cache_differences =
        wait_until_cache_matches(database, name, ids, memcached, name + ":", seconds(90));
    EXPECT_TRUE(cache_differences.empty()) << "memcached:" << summarize(cache_differences);

    // Stopping finishes, commits and leaves the group: exit status 0, every offset committed.
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
    long committed = 0;
    for (const auto& [partition, offset] : committed_offsets(brokers, name + "-es", name))
        committed += offset > 0 ? offset : 0;
    EXPECT_EQ(committed, 300 + 30 + 12);

    es_index.remove();
    os_index.remove();
    database.execute("DROP TABLE " + name);
}

}  // namespace
}  // namespace indexer::testing
