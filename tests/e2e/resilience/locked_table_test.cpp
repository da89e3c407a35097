// A migration holds `LOCK TABLE ... IN ACCESS EXCLUSIVE MODE` for longer than
// postgres.statement_timeout and longer than max.poll.interval.ms while ids
// are announced: each reload fails after the statement timeout (logged,
// counted in the metrics) and is retried with backoff, the consumer stays
// in its group, and once the lock goes the index converges. SIGTERM while the
// lock is held ends the process within the grace (30 s), and a restart
// converges once the lock is released.
#include "e2e/resilience/resilience.hpp"
#include "support/http.hpp"
#include "support/test_services.hpp"

#include <signal.h>

namespace indexer::testing::resilience {
namespace {

// The grace period `run` gives the batch in hand after SIGTERM.
constexpr auto kStopGrace = seconds(30);
constexpr auto kStatementTimeout = seconds(1);
constexpr auto kMaxPollInterval = seconds(10);

// The value of a metric line `name{...}` whose labels include every one of
// `labels` (written as `key="value"`); nothing when there is none.
std::optional<double> metric(const std::string& text, const std::string& name,
                             const std::vector<std::string>& labels) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name + "{", 0) != 0) continue;
        const auto close = line.find('}');
        if (close == std::string::npos) continue;
        const std::string label_text = line.substr(name.size() + 1, close - name.size() - 1);
        bool matches = true;
        for (const std::string& label : labels)
            matches = matches && label_text.find(label) != std::string::npos;
        if (matches) return std::stod(line.substr(close + 1));
    }
    return std::nullopt;
}

// A transaction on its own connection holding an ACCESS EXCLUSIVE lock on the
// table until release() (or destruction), as ALTER TABLE or VACUUM FULL do.
class TableLock {
public:
    TableLock(const std::string& postgres, const std::string& table)
        : connection_(postgres), transaction_(std::make_unique<pqxx::work>(connection_)) {
        transaction_->exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
    }
    // Changes made under the lock become visible when it is released.
    void execute(const std::string& sql) { transaction_->exec(sql); }
    void release() {
        if (!transaction_) return;
        transaction_->commit();
        transaction_.reset();
    }

private:
    pqxx::connection connection_;
    std::unique_ptr<pqxx::work> transaction_;
};

class LockedTable : public ::testing::Test {
protected:
    void start(const std::string& prefix, int rows) {
        brokers_ = env("INDEXER_TEST_KAFKA");
        postgres_ = env("INDEXER_TEST_POSTGRES");
        const std::string elasticsearch = env("INDEXER_TEST_ELASTICSEARCH");
        ASSERT_FALSE(brokers_.empty() || postgres_.empty() || elasticsearch.empty())
            << "INDEXER_TEST_KAFKA, INDEXER_TEST_POSTGRES and INDEXER_TEST_ELASTICSEARCH must be set: start "
               "the services with `scripts/services up` and export `scripts/services env`";
        name_ = unique_name(prefix);
        database_ = std::make_unique<Database>(postgres_);
        cleanup_.add(
            [database = *database_, name = name_] { database.execute("DROP TABLE IF EXISTS " + name); });
        create_products(*database_, name_, 1, rows);
        create_topic(brokers_, name_, 4);
        index_ = std::make_unique<SearchIndex>(elasticsearch, name_);
        cleanup_.add([index = *index_] { index.remove(); });

        listen_ = free_listen_address();
        const std::string config = fmt::format(
            R"(
kafka:
  brokers: {brokers}
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "1000"
    max.poll.interval.ms: "{max_poll}"
http:
  listen: "{listen}"
postgres:
  url: {postgres}
  statement_timeout: {statement_timeout}s
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 200ms}}
    retry: {{initial: 100ms, max: 2s}}
)",
            fmt::arg("brokers", brokers_), fmt::arg("max_poll", milliseconds(kMaxPollInterval).count()),
            fmt::arg("listen", listen_), fmt::arg("postgres", postgres_),
            fmt::arg("statement_timeout", kStatementTimeout.count()), fmt::arg("name", name_),
            fmt::arg("elasticsearch", elasticsearch));
        indexer_ = std::make_unique<IndexerProcess>(name_, config);
        ASSERT_TRUE(eventually([&] { return held() == all_partitions(); }, seconds(60)))
            << "the pipeline did not join its group\n"
            << indexer_->output();

        announce(1, rows);
        const auto mismatches = wait_until_index_matches(*database_, name_, *index_, seconds(90));
        ASSERT_TRUE(mismatches.empty()) << summarize(mismatches) << indexer_->output();
    }

    void announce(int first, int last) const {
        TestProducer producer(brokers_);
        for (int id = first; id <= last; ++id)
            producer.send(name_, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
        producer.flush();
    }

    // Updates rows [first, last] now (committed), then locks the table and,
    // under the lock, updates [last + 1, under_lock] (visible at release); then
    // announces all of them.
    std::unique_ptr<TableLock> update_lock_and_announce(int first, int last, int under_lock) {
        database_->execute(fmt::format(
            "UPDATE {} SET rev = rev + 1, name = name || ' before the lock' WHERE id BETWEEN {} AND {}",
            name_, first, last));
        auto lock = std::make_unique<TableLock>(postgres_, name_);
        lock->execute(fmt::format(
            "UPDATE {} SET rev = rev + 1, name = name || ' under the lock' WHERE id BETWEEN {} AND {}", name_,
            last + 1, under_lock));
        announce(first, under_lock);
        return lock;
    }

    std::size_t statement_timeouts() const {
        return count_logged(indexer_->output(), "warn", "canceling statement due to statement timeout");
    }
    std::set<int> held() const { return held_partitions(indexer_->output(), name_); }
    static std::set<int> all_partitions() { return {0, 1, 2, 3}; }
    std::string scrape() const { return http("GET", "http://" + listen_ + "/metrics").body; }
    double load_retries() const {
        return metric(scrape(), "indexer_pipeline_retries_total",
                      {"pipeline=\"" + name_ + "\"", "stage=\"load\""})
            .value_or(0);
    }

    Cleanup cleanup_;
    std::string brokers_;
    std::string postgres_;
    std::string name_;
    std::string listen_;
    std::unique_ptr<Database> database_;
    std::unique_ptr<SearchIndex> index_;
    std::unique_ptr<IndexerProcess> indexer_;
};

TEST_F(LockedTable, RetriesReloadsBlockedByALockStaysInItsGroupAndConvergesWhenTheLockGoes) {
    ASSERT_NO_FATAL_FAILURE(start("locked_table", 200));
    const double retries_before = load_retries();
    const std::size_t assignments_before = count_logged(indexer_->output(), "", ": assigned ");

    auto lock = update_lock_and_announce(1, 40, 60);
    const auto locked_at = Clock::now();
    // Held past the statement timeout many times over and past max.poll.interval.ms.
    const auto hold = kMaxPollInterval + seconds(8);
    bool paused_seen = false;
    while (Clock::now() - locked_at < hold) {
        const std::string text = scrape();
        paused_seen = paused_seen || metric(text, "indexer_pipeline_paused",
                                            {"pipeline=\"" + name_ + "\"", "reason=\"load\""}) == 1;
        std::this_thread::sleep_for(milliseconds(500));
    }
    const std::string log_under_lock = indexer_->output();
    const double retries_under_lock = load_retries() - retries_before;
    lock->release();

    const auto mismatches = wait_until_index_matches(*database_, name_, *index_, seconds(60));
    EXPECT_TRUE(mismatches.empty()) << "after the lock:" << summarize(mismatches) << indexer_->output();

    EXPECT_GE(count_logged(log_under_lock, "warn", "canceling statement due to statement timeout"), 1u)
        << log_under_lock;
    // One try per statement timeout plus backoff (at most 2 s): many in the time held.
    EXPECT_GE(retries_under_lock, 4) << log_under_lock;
    EXPECT_TRUE(paused_seen) << "indexer_pipeline_paused{reason=\"load\"} never showed 1";
    const std::string log = indexer_->output();
    EXPECT_TRUE(logged(log, "info", "resumed")) << log;
    EXPECT_TRUE(revocations(log).empty()) << "the consumer left its group:" << summarize(revocations(log));
    EXPECT_EQ(held(), all_partitions()) << log;
    EXPECT_EQ(count_logged(log, "", ": assigned "), assignments_before) << "the group rebalanced:\n" << log;
    EXPECT_EQ(indexer_->stop(), 0) << indexer_->output();
}

TEST_F(LockedTable, SigtermWhileALockBlocksTheReloadEndsWithinTheGraceAndARestartConverges) {
    ASSERT_NO_FATAL_FAILURE(start("locked_table_stop", 200));

    auto lock = update_lock_and_announce(1, 40, 60);
    ASSERT_TRUE(eventually([&] { return statement_timeouts() > 0; }, seconds(30)))
        << "no reload failed on the lock\n"
        << indexer_->output();
    // Past max.poll.interval.ms under the lock before the signal.
    std::this_thread::sleep_for(kMaxPollInterval + seconds(1));
    const std::string log_before_signal = indexer_->output();

    const auto signalled = Clock::now();
    indexer_->process().signal(SIGTERM);
    const auto exit_status = indexer_->process().wait(kStopGrace + seconds(30));
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - signalled);
    std::cout << "[ measured ] SIGTERM to exit with the table locked: " << took.count() << " ms\n";
    ASSERT_TRUE(exit_status.has_value())
        << "still running " << (kStopGrace + seconds(30)).count() << " s after SIGTERM\n"
        << indexer_->output();
    EXPECT_EQ(*exit_status, 0) << indexer_->output();
    EXPECT_TRUE(logged(indexer_->output(), "warn", "without committing")) << indexer_->output();
    // The grace, plus one statement that was waiting on the lock, plus leaving the group.
    EXPECT_LE(took, kStopGrace + kStatementTimeout + seconds(3)) << indexer_->output();
    EXPECT_TRUE(revocations(log_before_signal).empty())
        << "the consumer left its group under the lock:" << summarize(revocations(log_before_signal));
    EXPECT_EQ(held_partitions(log_before_signal, name_), all_partitions()) << log_before_signal;
    EXPECT_LT(committed_total(committed_offsets(brokers_, name_, name_)), 200 + 60)
        << "the batches blocked by the lock were committed";

    lock->release();
    indexer_->restart();
    const auto mismatches = wait_until_index_matches(*database_, name_, *index_, seconds(90));
    EXPECT_TRUE(mismatches.empty()) << "after the restart:" << summarize(mismatches) << indexer_->output();
    EXPECT_EQ(wait_until_committed(brokers_, name_, name_, 200 + 60, seconds(30)), 200 + 60);
    EXPECT_EQ(indexer_->stop(), 0) << indexer_->output();
}

}  // namespace
}  // namespace indexer::testing::resilience
