// PostgreSQL becomes unreachable for 10 seconds while ids keep arriving: the
// batch in hand waits and is retried, nothing past what was indexed is
// committed, nothing is skipped, and the index converges once the database
// is back.
#include "e2e/resilience/resilience.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

namespace indexer::testing::resilience {
namespace {

TEST(DatabaseOutage, WaitsForTheDatabaseWithoutCommittingOrSkippingAndConverges) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("db_outage");
    constexpr int kRows = 1200;
    Cleanup cleanup;
    const Database database(postgres);  // the test's own changes never go through the proxy
    cleanup.add([database, name] { database.execute("DROP TABLE IF EXISTS " + name); });
    create_products(database, name, 1, kRows);
    create_topic(brokers, name, 4);
    const SearchIndex index(elasticsearch, name);
    cleanup.add([index] { index.remove(); });

    const auto [postgres_host, postgres_port] = host_and_port(postgres);
    TcpProxy proxy(postgres_host, postgres_port);
    proxy.start();
    const std::string postgres_through_proxy =
        with_host_port(postgres, "127.0.0.1:" + std::to_string(proxy.port()));

    const std::string config =
        fmt::format(R"(
kafka:
  brokers: {brokers}
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "1000"
    max.poll.interval.ms: "10000"
http:
  listen: "{listen}"
postgres:
  url: {postgres}
  connect_timeout: 2s
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
    retry: {{initial: 100ms, max: 2s}}
)",
                    fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                    fmt::arg("postgres", postgres_through_proxy), fmt::arg("name", name),
                    fmt::arg("elasticsearch", elasticsearch));
    IndexerProcess indexer(name, config);
    ASSERT_TRUE(eventually([&] { return held_partitions(indexer.output(), name).size() == 4; }, seconds(60)))
        << "the pipeline did not join its group\n"
        << indexer.output();

    StreamPublisher stream({.brokers = brokers,
                            .postgres = postgres,
                            .topic = name,
                            .table = name,
                            .first = 1,
                            .last = kRows,
                            .update_every = 10,
                            .duration = seconds(8)});
    const std::vector<std::string> ids = id_range(1, kRows);

    std::vector<Sample> samples;
    ASSERT_TRUE(eventually(
        [&] {
            samples.push_back(take_sample(brokers, name, name, index, ids));
            return committed_total(samples.back().committed) > 0 && stream.sent() >= kRows / 5;
        },
        seconds(90)))
        << "nothing was committed before the outage\n"
        << indexer.output();

    const std::size_t pauses_before = count_logged(indexer.output(), "warn", "paused");
    proxy.stop();
    const auto outage_started = Clock::now();
    const std::size_t first_during = samples.size();
    while (Clock::now() - outage_started < seconds(10)) {
        samples.push_back(take_sample(brokers, name, name, index, ids));
        std::this_thread::sleep_for(milliseconds(300));
    }
    const std::size_t after_outage = samples.size();
    const int sent_during_outage = stream.sent();
    const std::string log_during_outage = indexer.output();
    EXPECT_TRUE(indexer.process().running()) << "the indexer died while the database was down\n"
                                             << log_during_outage;
    proxy.start();

    stream.wait();
    const int sent = stream.sent();
    const auto mismatches = wait_until_index_matches(database, name, index, seconds(120));
    EXPECT_TRUE(mismatches.empty()) << "after the outage:" << summarize(mismatches) << indexer.output();
    samples.push_back(take_sample(brokers, name, name, index, ids));

    EXPECT_TRUE(logged(log_during_outage, "warn", "PostgreSQL")) << log_during_outage;
    EXPECT_GT(count_logged(log_during_outage, "warn", "paused"), pauses_before) << log_during_outage;
    const std::string log = indexer.output();
    EXPECT_TRUE(logged(log, "info", "resumed")) << log;
    EXPECT_TRUE(revocations(log).empty()) << "the indexer left its group:" << summarize(revocations(log));
    EXPECT_TRUE(indexer.process().running()) << log;

    // Every commit, before, during and after the outage, covered only messages
    // whose change the index held right after.
    const std::vector<ReadMessage> messages = read_topic(brokers, name, sent, seconds(60));
    ASSERT_EQ(messages.size(), static_cast<std::size_t>(sent));
    std::vector<const Sample*> all_samples;
    for (const Sample& sample : samples) all_samples.push_back(&sample);
    const std::string ahead = first_commit_ahead_of_index(all_samples, messages, outage_started);
    EXPECT_TRUE(ahead.empty()) << ahead;
    // Once the batch that was loaded before the outage is written, the
    // offsets stand still while messages wait.
    std::vector<const Sample*> settled;
    for (std::size_t i = first_during; i < after_outage; ++i) {
        if (samples[i].at - outage_started >= seconds(5)) settled.push_back(&samples[i]);
    }
    ASSERT_GE(settled.size(), 2u);
    for (const Sample* sample : settled) {
        EXPECT_EQ(sample->committed, settled.front()->committed)
            << "an offset moved while the database was down";
    }
    EXPECT_LT(committed_total(settled.back()->committed), sent_during_outage)
        << "no message was waiting during the outage: the test proved nothing";

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
    EXPECT_EQ(committed_total(committed_offsets(brokers, name, name)), sent);
}

}  // namespace
}  // namespace indexer::testing::resilience
