// SIGTERM stops the indexer the way an operator expects: when idle it exits 0
// at once and leaves its group, so that another member gets the partitions
// without waiting for a session timeout; when the sink is down it gives the
// unwritten batch up within the grace period (30 s) without committing it and
// exits 0; a second signal exits at once with 130.
#include "e2e/resilience/resilience.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

#include <signal.h>

namespace indexer::testing::resilience {
namespace {

class Shutdown : public ::testing::Test {
protected:
    // A pipeline writing to Elasticsearch through a proxy that can play a
    // stopped sink, on a topic of four partitions, with `rows` rows.
    void start(const std::string& prefix, int rows, const std::string& kafka_properties) {
        brokers_ = env("INDEXER_TEST_KAFKA");
        postgres_ = env("INDEXER_TEST_POSTGRES");
        const std::string elasticsearch = env("INDEXER_TEST_ELASTICSEARCH");
        ASSERT_FALSE(brokers_.empty() || postgres_.empty() || elasticsearch.empty())
            << "INDEXER_TEST_KAFKA, INDEXER_TEST_POSTGRES and INDEXER_TEST_ELASTICSEARCH must be set: start "
               "the "
               "services with `scripts/services up` and export `scripts/services env`";

        name_ = unique_name(prefix);
        database_ = std::make_unique<Database>(postgres_);
        cleanup_.add(
            [database = *database_, name = name_] { database.execute("DROP TABLE IF EXISTS " + name); });
        create_products(*database_, name_, 1, rows);
        create_topic(brokers_, name_, 4);
        index_ = std::make_unique<SearchIndex>(elasticsearch, name_);
        cleanup_.add([index = *index_] { index.remove(); });
        proxy_ = TcpProxy::for_url(elasticsearch);
        proxy_->start();

        config_ = fmt::format(R"(
kafka:
  brokers: {brokers}
  properties:
{properties}
http:
  listen: "${{INDEXER_TEST_HTTP_LISTEN}}"
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{sink}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
    retry: {{initial: 100ms, max: 1s}}
)",
                              fmt::arg("brokers", brokers_), fmt::arg("properties", kafka_properties),
                              fmt::arg("postgres", postgres_), fmt::arg("name", name_),
                              fmt::arg("sink", proxy_->url()));
        indexer_ = std::make_unique<IndexerProcess>(name_, config_, std::vector<std::string>{},
                                                    listen_on_a_free_port());
        ASSERT_TRUE(eventually([&] { return held(*indexer_) == all_partitions(); }, seconds(60)))
            << "the pipeline did not join its group\n"
            << indexer_->output();
    }

    // Announces the ids of [first, last] and waits until they are sent.
    void announce(int first, int last) {
        TestProducer producer(brokers_);
        for (int id = first; id <= last; ++id)
            producer.send(name_, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
        producer.flush();
    }

    // Ids 1..indexed (the rows the table starts with) are in the index and
    // committed; then the sink goes away, and rows up to `announced` are added
    // and announced: the indexer waits for the sink.
    void index_then_lose_the_sink(int indexed, int announced) {
        announce(1, indexed);
        const auto mismatches = wait_until_index_matches(*database_, name_, *index_, seconds(90));
        ASSERT_EQ(mismatches.size(), 0u) << summarize(mismatches) << indexer_->output();
        ASSERT_EQ(wait_until_committed(brokers_, name_, name_, indexed, seconds(30)), indexed);

        const std::size_t pauses = count_logged(indexer_->output(), "warn", "paused");
        proxy_->stop();
        create_products(*database_, name_, indexed + 1, announced);
        announce(indexed + 1, announced);
        ASSERT_TRUE(eventually([&] { return count_logged(indexer_->output(), "warn", "paused") > pauses; },
                               seconds(60)))
            << "the indexer did not wait for the sink\n"
            << indexer_->output();
    }

    static std::map<std::string, std::string> listen_on_a_free_port() {
        return {{"INDEXER_TEST_HTTP_LISTEN", free_listen_address()}};
    }
    std::set<int> held(IndexerProcess& process) const { return held_partitions(process.output(), name_); }
    static std::set<int> all_partitions() { return {0, 1, 2, 3}; }
    long long committed() const { return committed_total(committed_offsets(brokers_, name_, name_)); }

    Cleanup cleanup_;
    std::string brokers_;
    std::string postgres_;
    std::string name_;
    std::string config_;
    std::unique_ptr<Database> database_;
    std::unique_ptr<SearchIndex> index_;
    std::unique_ptr<TcpProxy> proxy_;
    std::unique_ptr<IndexerProcess> indexer_;
};

TEST_F(Shutdown, SigtermWhileIdleExitsZeroAndLeavesTheGroupSoAnotherMemberGetsThePartitionsAtOnce) {
    // A member that vanished without leaving would keep its partitions for 60 s.
    ASSERT_NO_FATAL_FAILURE(start("shutdown_idle", 200,
                                  "    session.timeout.ms: \"60000\"\n"
                                  "    heartbeat.interval.ms: \"3000\""));
    announce(1, 200);
    const auto mismatches = wait_until_index_matches(*database_, name_, *index_, seconds(90));
    ASSERT_TRUE(mismatches.empty()) << summarize(mismatches) << indexer_->output();
    ASSERT_EQ(wait_until_committed(brokers_, name_, name_, 200, seconds(30)), 200);

    EXPECT_EQ(indexer_->stop(seconds(15)), 0) << indexer_->output();
    EXPECT_TRUE(held(*indexer_).empty()) << "it did not give its partitions back\n" << indexer_->output();
    EXPECT_EQ(committed(), 200);

    // The next member of the group gets every partition well within the
    // session timeout that a member which did not leave would hold them for.
    IndexerProcess next(name_ + "-next", config_, {}, listen_on_a_free_port());
    EXPECT_TRUE(eventually([&] { return held(next) == all_partitions(); }, seconds(30)))
        << "the group still waited for the stopped member: the new member holds " << describe(held(next))
        << "\n"
        << next.output();
    EXPECT_EQ(next.stop(), 0) << next.output();
    EXPECT_EQ(committed(), 200);
}

TEST_F(Shutdown, SigtermWhileTheSinkIsDownExitsZeroWithinTheGraceWithoutCommittingTheUnwrittenBatch) {
    ASSERT_NO_FATAL_FAILURE(start("shutdown_sink_down", 200, "    session.timeout.ms: \"10000\""));
    ASSERT_NO_FATAL_FAILURE(index_then_lose_the_sink(200, 300));

    indexer_->process().signal(SIGTERM);
    // The grace period is 30 s; twice that is the generous bound.
    const auto exit_status = indexer_->process().wait(seconds(60));
    ASSERT_TRUE(exit_status.has_value()) << "still running 60 s after SIGTERM\n" << indexer_->output();
    EXPECT_EQ(*exit_status, 0) << indexer_->output();
    EXPECT_TRUE(logged(indexer_->output(), "warn", "without committing")) << indexer_->output();
    EXPECT_EQ(committed(), 200) << "the batch that never reached the sink was committed";
    EXPECT_EQ(index_->count(), 200);
}

TEST_F(Shutdown, SecondSigtermExitsAtOnceWith130WithoutCommitting) {
    ASSERT_NO_FATAL_FAILURE(start("shutdown_twice", 200, "    session.timeout.ms: \"10000\""));
    ASSERT_NO_FATAL_FAILURE(index_then_lose_the_sink(200, 300));

    indexer_->process().signal(SIGTERM);
    // Two signals sent back to back may be delivered as one: the second is
    // sent once the first was taken.
    ASSERT_TRUE(
        eventually([&] { return logged(indexer_->output(), "info", "received SIGTERM"); }, seconds(10)))
        << indexer_->output();
    indexer_->process().signal(SIGTERM);
    // Well within the 30 s grace that the first signal alone would take.
    const auto exit_status = indexer_->process().wait(seconds(10));
    ASSERT_TRUE(exit_status.has_value()) << "still running 10 s after the second SIGTERM\n"
                                         << indexer_->output();
    EXPECT_EQ(*exit_status, 130) << indexer_->output();
    EXPECT_EQ(committed(), 200) << "the batch that never reached the sink was committed";
}

}  // namespace
}  // namespace indexer::testing::resilience
