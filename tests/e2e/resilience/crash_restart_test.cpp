// The indexer is killed with SIGKILL in the middle of a stream of inserts,
// updates and deletes, and started again on the same configuration: what it
// had not committed is processed again, so Elasticsearch and memcached end up
// holding exactly what the database holds. Killed while the batches in hand
// wait for the sinks, it must not have committed them either.
#include "e2e/resilience/resilience.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

namespace indexer::testing::resilience {
namespace {

TEST(CrashRestart, ElasticsearchAndMemcachedConvergeAfterKillNineAndRestart) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
    INDEXER_REQUIRE_SERVICE(memcached, "INDEXER_TEST_MEMCACHED");

    const std::string name = unique_name("crash");
    constexpr int kRows = 1500;
    Cleanup cleanup;
    const Database database(postgres);
    cleanup.add([database, name] { database.execute("DROP TABLE IF EXISTS " + name); });
    create_products(database, name, 1, kRows);
    create_topic(brokers, name, 4);
    const SearchIndex index(elasticsearch, name);
    cleanup.add([index] { index.remove(); });

    // The killed process never leaves its groups: its restarted self joins
    // once the broker gives up on it after session.timeout.ms (6 s, not 45).
    const std::string config =
        fmt::format(R"(
kafka:
  brokers: {brokers}
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "1000"
http:
  listen: "{listen}"
postgres:
  url: {postgres}
pipelines:
  - name: {name}-es
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
  - name: {name}-mc
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: memcached, config: {{servers: ["{memcached}"], key_template: "{name}:{{id}}"}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
)",
                    fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                    fmt::arg("postgres", postgres), fmt::arg("name", name),
                    fmt::arg("elasticsearch", elasticsearch), fmt::arg("memcached", memcached));
    IndexerProcess indexer(name, config);
    const std::set<int> all_partitions{0, 1, 2, 3};
    ASSERT_TRUE(eventually(
        [&] {
            const std::string log = indexer.output();
            return held_partitions(log, name, name + "-es") == all_partitions &&
                   held_partitions(log, name, name + "-mc") == all_partitions;
        },
        seconds(60)))
        << "the pipelines did not join their groups\n"
        << indexer.output();

    StreamPublisher stream({.brokers = brokers,
                            .postgres = postgres,
                            .topic = name,
                            .table = name,
                            .first = 1,
                            .last = kRows,
                            .update_every = 5,
                            .delete_every = 20,
                            .duration = seconds(8)});

    // Killed while both pipelines are busy: each has committed some batches.
    const bool busy = eventually(
        [&] {
            return committed_total(committed_offsets(brokers, name + "-es", name)) > 0 &&
                   committed_total(committed_offsets(brokers, name + "-mc", name)) > 0;
        },
        seconds(90));
    ASSERT_TRUE(busy) << "nothing was committed before the kill\n" << indexer.output();
    const int sent_at_kill = stream.sent();
    indexer.kill();
    const std::string first_log = indexer.output();
    EXPECT_FALSE(stream.done()) << "the stream had ended before the kill: the test did not kill mid-stream";

    indexer.restart();
    stream.wait();
    const int sent = stream.sent();
    EXPECT_GT(sent, sent_at_kill);

    const auto index_mismatches = wait_until_index_matches(database, name, index, seconds(120));
    EXPECT_TRUE(index_mismatches.empty())
        << "Elasticsearch:" << summarize(index_mismatches) << "\nbefore the kill:\n"
        << first_log << "\nafter the restart:\n"
        << indexer.output();
    const auto cache_mismatches =
        wait_until_cache_matches(database, name, id_range(1, kRows), memcached, name + ":", seconds(120));
    EXPECT_TRUE(cache_mismatches.empty()) << "memcached:" << summarize(cache_mismatches) << "\n"
                                          << indexer.output();

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
    EXPECT_EQ(committed_total(committed_offsets(brokers, name + "-es", name)), sent);
    EXPECT_EQ(committed_total(committed_offsets(brokers, name + "-mc", name)), sent);
}

TEST(CrashRestart, BatchesWaitingForTheSinksWhenKilledAreWrittenAfterTheRestart) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
    INDEXER_REQUIRE_SERVICE(memcached, "INDEXER_TEST_MEMCACHED");

    const std::string name = unique_name("crash_waiting");
    Cleanup cleanup;
    const Database database(postgres);
    cleanup.add([database, name] { database.execute("DROP TABLE IF EXISTS " + name); });
    create_products(database, name, 1, 300);
    create_topic(brokers, name, 4);
    const SearchIndex index(elasticsearch, name);
    cleanup.add([index] { index.remove(); });

    // Both sinks are reached through proxies that the test stops.
    const auto elasticsearch_proxy = TcpProxy::for_url(elasticsearch);
    elasticsearch_proxy->start();
    const auto memcached_proxy = TcpProxy::for_url("tcp://" + memcached);
    memcached_proxy->start();
    const std::string memcached_through_proxy = "127.0.0.1:" + std::to_string(memcached_proxy->port());

    const std::string config =
        fmt::format(R"(
kafka:
  brokers: {brokers}
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "1000"
http:
  listen: "{listen}"
postgres:
  url: {postgres}
pipelines:
  - name: {name}-es
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
    retry: {{initial: 100ms, max: 1s}}
  - name: {name}-mc
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: memcached, config: {{servers: ["{memcached}"], key_template: "{name}:{{id}}"}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
    retry: {{initial: 100ms, max: 1s}}
)",
                    fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                    fmt::arg("postgres", postgres), fmt::arg("name", name),
                    fmt::arg("elasticsearch", elasticsearch_proxy->url()),
                    fmt::arg("memcached", memcached_through_proxy));
    IndexerProcess indexer(name, config);

    TestProducer producer(brokers);
    const auto announce = [&](int first, int last) {
        for (int id = first; id <= last; ++id)
            producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
        producer.flush();
    };
    announce(1, 300);
    const auto indexed = wait_until_index_matches(database, name, index, seconds(90));
    ASSERT_TRUE(indexed.empty()) << summarize(indexed) << indexer.output();
    ASSERT_EQ(wait_until_committed(brokers, name + "-es", name, 300, seconds(30)), 300);
    ASSERT_EQ(wait_until_committed(brokers, name + "-mc", name, 300, seconds(30)), 300);

    // The sinks go away; new rows and changed rows are announced; both
    // pipelines hold batches they cannot write when the process is killed.
    const std::string before = indexer.output();
    const auto waiting = [&](const std::string& pipeline, const std::string& log) {
        std::size_t count = 0;
        for (const LogLine& line : log_lines(log)) {
            if (line.level.rfind("warn", 0) == 0 && line.message.rfind(pipeline + ": ", 0) == 0 &&
                line.message.find("paused") != std::string::npos)
                ++count;
        }
        return count;
    };
    elasticsearch_proxy->stop();
    memcached_proxy->stop();
    create_products(database, name, 301, 600);
    database.execute(
        fmt::format("UPDATE {} SET rev = rev + 1, name = name || ' (changed)' WHERE id % 3 = 0", name));
    announce(1, 600);
    ASSERT_TRUE(eventually(
        [&] {
            const std::string log = indexer.output();
            return waiting(name + "-es", log) > waiting(name + "-es", before) &&
                   waiting(name + "-mc", log) > waiting(name + "-mc", before);
        },
        seconds(60)))
        << "the pipelines did not wait for their sinks\n"
        << indexer.output();
    indexer.kill();
    const std::string killed_log = indexer.output();
    EXPECT_EQ(committed_total(committed_offsets(brokers, name + "-es", name)), 300) << killed_log;
    EXPECT_EQ(committed_total(committed_offsets(brokers, name + "-mc", name)), 300) << killed_log;

    elasticsearch_proxy->start();
    memcached_proxy->start();
    indexer.restart();
    const auto index_mismatches = wait_until_index_matches(database, name, index, seconds(120));
    EXPECT_TRUE(index_mismatches.empty())
        << "Elasticsearch:" << summarize(index_mismatches) << "\nbefore the kill:\n"
        << killed_log << "\nafter the restart:\n"
        << indexer.output();
    const auto cache_mismatches =
        wait_until_cache_matches(database, name, id_range(1, 600), memcached, name + ":", seconds(120));
    EXPECT_TRUE(cache_mismatches.empty()) << "memcached:" << summarize(cache_mismatches) << "\n"
                                          << indexer.output();
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
    EXPECT_EQ(committed_total(committed_offsets(brokers, name + "-es", name)), 900);
    EXPECT_EQ(committed_total(committed_offsets(brokers, name + "-mc", name)), 900);
}

}  // namespace
}  // namespace indexer::testing::resilience
