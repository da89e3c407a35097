// Elasticsearch goes away for 20 seconds in the middle of a stream of
// changes: the indexer pauses and keeps retrying without crashing or leaving
// its consumer group, commits nothing that is not in the index, and once the
// sink is back the index holds exactly what the table holds.
#include "e2e/resilience/resilience.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

namespace indexer::testing::resilience {
namespace {

TEST(SinkOutage, PausesInItsGroupCommitsNothingUnwrittenAndConvergesOnceTheSinkReturns) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("sink_outage");
    constexpr int kRows = 2000;
    Cleanup cleanup;
    const Database database(postgres);
    cleanup.add([database, name] { database.execute("DROP TABLE IF EXISTS " + name); });
    create_products(database, name, 1, kRows);
    create_topic(brokers, name, 4);
    const SearchIndex index(elasticsearch, name);  // read directly, never through the proxy
    cleanup.add([index] { index.remove(); });

    const auto proxy = TcpProxy::for_url(elasticsearch);
    proxy->start();

    // A member that stops polling for 10 s is expelled from the group: the 20 s
    // outage shows whether the indexer keeps polling while it waits.
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
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{sink}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
    retry: {{initial: 100ms, max: 2s}}
)",
                    fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                    fmt::arg("postgres", postgres), fmt::arg("name", name), fmt::arg("sink", proxy->url()));
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
                            .duration = seconds(10)});
    const std::vector<std::string> ids = id_range(1, kRows);

    // Mid-stream: once something is committed, the sink goes away for 20 s.
    std::vector<Sample> before;
    const bool started = eventually(
        [&] {
            before.push_back(take_sample(brokers, name, name, index, ids));
            return committed_total(before.back().committed) > 0 && stream.sent() >= kRows / 5;
        },
        seconds(90));
    ASSERT_TRUE(started) << "nothing was committed before the outage\n" << indexer.output();

    const std::size_t pauses_before = count_logged(indexer.output(), "warn", "paused");
    proxy->stop();
    const auto outage_started = Clock::now();
    std::vector<Sample> during;
    while (Clock::now() - outage_started < seconds(20)) {
        during.push_back(take_sample(brokers, name, name, index, ids));
        std::this_thread::sleep_for(milliseconds(500));
    }
    const int sent_during_outage = stream.sent();
    const std::string log_during_outage = indexer.output();
    EXPECT_TRUE(indexer.process().running()) << "the indexer died while the sink was down\n"
                                             << log_during_outage;
    proxy->start();

    stream.wait();
    const int sent = stream.sent();
    const auto mismatches = wait_until_index_matches(database, name, index, seconds(120));
    EXPECT_TRUE(mismatches.empty()) << "after the outage:" << summarize(mismatches) << indexer.output();
    const Sample after = take_sample(brokers, name, name, index, ids);

    // The outage was seen, waited out in the group, and ended.
    EXPECT_GT(count_logged(log_during_outage, "warn", "paused"), pauses_before) << log_during_outage;
    const std::string log = indexer.output();
    EXPECT_TRUE(logged(log, "info", "resumed")) << log;
    EXPECT_TRUE(revocations(log).empty())
        << "the indexer left its group:" << summarize(revocations(log)) << "\n"
        << log;
    EXPECT_TRUE(indexer.process().running()) << log;

    // Offsets: every sample, before, during and after the outage, committed
    // only messages whose change the index held right after.
    const std::vector<ReadMessage> messages = read_topic(brokers, name, sent, seconds(60));
    ASSERT_EQ(messages.size(), static_cast<std::size_t>(sent));
    std::vector<const Sample*> samples;
    for (const auto& sample : before) samples.push_back(&sample);
    for (const auto& sample : during) samples.push_back(&sample);
    samples.push_back(&after);
    const std::string ahead = first_commit_ahead_of_index(samples, messages, outage_started);
    EXPECT_TRUE(ahead.empty()) << ahead;
    // Once the batch that was in flight when the sink went away is over, the
    // offsets stand still: messages kept arriving, none was committed.
    std::vector<const Sample*> settled;
    for (const auto& sample : during) {
        if (sample.at - outage_started >= seconds(5)) settled.push_back(&sample);
    }
    ASSERT_GE(settled.size(), 2u);
    for (const Sample* sample : settled) {
        EXPECT_EQ(sample->committed, settled.front()->committed) << "an offset moved while the sink was down";
    }
    EXPECT_LT(committed_total(settled.back()->committed), sent_during_outage)
        << "no message was waiting during the outage: the test proved nothing";

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
    EXPECT_EQ(committed_total(committed_offsets(brokers, name, name)), sent);
}

}  // namespace
}  // namespace indexer::testing::resilience
