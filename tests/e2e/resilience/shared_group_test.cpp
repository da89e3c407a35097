// Two indexer processes on one configuration are two members of one consumer
// group: they share the topic's partitions, and when one of them goes away
// (stopped, or killed) the other takes its partitions over and nothing is
// lost.
#include "e2e/resilience/resilience.hpp"
#include "support/test_services.hpp"

namespace indexer::testing::resilience {
namespace {

enum class Departure { Sigterm, Sigkill };

// True when the two processes hold the topic's four partitions between them,
// each some of them, none both.
bool shared(const std::set<int>& first, const std::set<int>& second) {
    if (first.empty() || second.empty() || first.size() + second.size() != 4) return false;
    std::set<int> all = first;
    all.insert(second.begin(), second.end());
    return all == std::set<int>{0, 1, 2, 3};
}

void share_then_hand_over(Departure departure) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name(departure == Departure::Sigterm ? "handover_term" : "handover_kill");
    Cleanup cleanup;
    const Database database(postgres);
    cleanup.add([database, name] { database.execute("DROP TABLE IF EXISTS " + name); });
    create_products(database, name, 1, 800);
    create_topic(brokers, name, 4);
    const SearchIndex index(elasticsearch, name);
    cleanup.add([index] { index.remove(); });

    // A killed member is noticed after session.timeout.ms: 6 s instead of 45.
    // One configuration for both processes; only the environment tells their
    // metrics endpoints apart.
    const std::string config = fmt::format(R"(
kafka:
  brokers: {brokers}
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "1000"
http:
  listen: "${{INDEXER_TEST_HTTP_LISTEN}}"
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
)",
                                           fmt::arg("brokers", brokers), fmt::arg("postgres", postgres),
                                           fmt::arg("name", name), fmt::arg("elasticsearch", elasticsearch));
    const std::set<int> all{0, 1, 2, 3};
    IndexerProcess first(name + "-first", config, {}, {{"INDEXER_TEST_HTTP_LISTEN", free_listen_address()}});
    ASSERT_TRUE(eventually([&] { return held_partitions(first.output(), name) == all; }, seconds(60)))
        << first.output();
    IndexerProcess second(name + "-second", config, {},
                          {{"INDEXER_TEST_HTTP_LISTEN", free_listen_address()}});
    ASSERT_TRUE(eventually(
        [&] { return shared(held_partitions(first.output(), name), held_partitions(second.output(), name)); },
        seconds(90)))
        << "the partitions were not shared: the first holds "
        << describe(held_partitions(first.output(), name)) << ", the second "
        << describe(held_partitions(second.output(), name)) << "\nfirst:\n"
        << first.output() << "\nsecond:\n"
        << second.output();

    // Both members index their share.
    StreamPublisher inserts({.brokers = brokers,
                             .postgres = postgres,
                             .topic = name,
                             .table = name,
                             .first = 1,
                             .last = 800,
                             .update_every = 10,
                             .duration = seconds(4)});
    inserts.wait();
    const auto shared_mismatches = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(shared_mismatches.empty())
        << "with two members:" << summarize(shared_mismatches) << "\nfirst:\n"
        << first.output() << "\nsecond:\n"
        << second.output();
    EXPECT_TRUE(shared(held_partitions(first.output(), name), held_partitions(second.output(), name)))
        << "the partitions moved while both members ran";

    // One member goes away in the middle of the next stream.
    create_products(database, name, 801, 1600);
    StreamPublisher more({.brokers = brokers,
                          .postgres = postgres,
                          .topic = name,
                          .table = name,
                          .first = 801,
                          .last = 1600,
                          .update_every = 10,
                          .duration = seconds(8)});
    ASSERT_TRUE(eventually([&] { return more.sent() >= 200; }, seconds(30)));
    if (departure == Departure::Sigterm) {
        EXPECT_EQ(second.stop(), 0) << second.output();
        EXPECT_TRUE(logged(second.output(), "info", ": revoked ")) << "it did not leave the group\n"
                                                                   << second.output();
    } else {
        second.kill();
    }
    EXPECT_TRUE(eventually([&] { return held_partitions(first.output(), name) == all; }, seconds(90)))
        << "the survivor did not take the partitions over: it holds "
        << describe(held_partitions(first.output(), name)) << "\n"
        << first.output();

    more.wait();
    const auto mismatches = wait_until_index_matches(database, name, index, seconds(120));
    EXPECT_TRUE(mismatches.empty()) << "after the hand-over:" << summarize(mismatches) << "\nsurvivor:\n"
                                    << first.output() << "\nthe one that went away:\n"
                                    << second.output();
    EXPECT_EQ(first.stop(), 0) << first.output();
    EXPECT_EQ(committed_total(committed_offsets(brokers, name, name)), inserts.sent() + more.sent());
}

TEST(SharedGroup, TwoProcessesSharePartitionsAndTheSurvivorTakesOverAfterSigtermWithoutLoss) {
    share_then_hand_over(Departure::Sigterm);
}

TEST(SharedGroup, TwoProcessesSharePartitionsAndTheSurvivorTakesOverAfterSigkillWithoutLoss) {
    share_then_hand_over(Departure::Sigkill);
}

}  // namespace
}  // namespace indexer::testing::resilience
