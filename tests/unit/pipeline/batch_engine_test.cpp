// The staged engine's invariants on fakes: no Kafka, no database, no sink, no
// sleeps. Each fake reports every event to one Events object, and a test waits
// for the event it needs (bounded, so that a broken engine fails instead of hanging).
#include <indexer/metrics/pipeline_metrics.hpp>
#include <indexer/metrics/registry.hpp>
#include <indexer/pipeline/batch_engine.hpp>
#include <indexer/pipeline/pipeline.hpp>

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace {

using namespace indexer;
using namespace indexer::pipeline;
using kafka::Message;
using kafka::TopicPartition;
using std::chrono::milliseconds;
using Offsets = std::map<TopicPartition, std::int64_t>;

const std::string kTopic = "products";

TopicPartition partition(int number) {
    return {kTopic, number};
}

// One lock and one condition for every fake, so that a test can wait for any event.
struct Events {
    std::mutex mutex;
    std::condition_variable changed;

    void notify() { changed.notify_all(); }
    // Waits until `done()` holds (under the lock); fails the test after 10 s.
    void wait(const std::function<bool()>& done, const char* what) {
        std::unique_lock lock(mutex);
        if (!changed.wait_for(lock, std::chrono::seconds(10), done))
            ADD_FAILURE() << "timed out waiting for " << what;
    }
};

class FakeTransport final : public IdTransport {
public:
    explicit FakeTransport(Events& events) : events_(events) {}

    void attach(BatchEngine& engine) { engine_ = &engine; }

    // Adds messages {"id": <id>} to a partition, with consecutive offsets.
    void produce(int number, const std::vector<std::string>& values) {
        std::lock_guard lock(events_.mutex);
        for (const std::string& value : values) {
            Message message;
            message.topic = kTopic;
            message.partition = number;
            message.offset = next_offset_[number]++;
            message.value = value;
            waiting_.push_back(std::move(message));
        }
        events_.notify();
    }
    void produce_ids(int number, const std::vector<int>& ids) {
        std::vector<std::string> values;
        for (int id : ids) values.push_back("{\"id\": " + std::to_string(id) + "}");
        produce(number, values);
    }
    // The next poll revokes these partitions (inside the poll, as librdkafka does).
    void revoke_at_next_poll(std::vector<TopicPartition> partitions) {
        std::lock_guard lock(events_.mutex);
        to_revoke_ = std::move(partitions);
    }
    void assign(std::vector<TopicPartition> partitions) {
        {
            std::lock_guard lock(events_.mutex);
            owned_.insert(partitions.begin(), partitions.end());
        }
        engine_->on_assigned(partitions);
    }

    Result<std::vector<Message>> poll(std::size_t max_messages, std::size_t, milliseconds max_wait) override {
        std::vector<TopicPartition> revoke;
        {
            std::unique_lock lock(events_.mutex);
            ++polls_;
            events_.notify();
            revoke.swap(to_revoke_);
            for (const auto& gone : revoke) owned_.erase(gone);
        }
        if (!revoke.empty()) engine_->on_revoked(revoke, false);
        std::unique_lock lock(events_.mutex);
        events_.changed.wait_for(lock, max_wait,
                                 [&] { return (!waiting_.empty() && !paused_) || !to_revoke_.empty(); });
        std::vector<Message> out;
        if (paused_) return out;
        while (!waiting_.empty() && out.size() < max_messages) {
            if (owned_.contains(waiting_.front().topic_partition())) out.push_back(waiting_.front());
            waiting_.pop_front();
        }
        polled_messages_ += out.size();
        return out;
    }

    Status commit(const Offsets& next_offsets) override {
        std::lock_guard lock(events_.mutex);
        for (const auto& [tp, offset] : next_offsets) {
            if (!owned_.contains(tp)) return Status::error("not owned: " + kafka::to_string(tp));
        }
        commits_.push_back(next_offsets);
        for (const auto& [tp, offset] : next_offsets) committed_[tp] = offset;
        events_.notify();
        return Status::ok();
    }
    Status pause() override {
        std::lock_guard lock(events_.mutex);
        paused_ = true;
        ++pauses_;
        events_.notify();
        return Status::ok();
    }
    Status resume() override {
        std::lock_guard lock(events_.mutex);
        paused_ = false;
        events_.notify();
        return Status::ok();
    }

    // Read under events.mutex (inside Events::wait) or after run() returned.
    std::int64_t committed(int number) const {
        const auto found = committed_.find(partition(number));
        return found == committed_.end() ? -1 : found->second;
    }
    const std::vector<Offsets>& commits() const { return commits_; }
    std::size_t polls() const { return polls_; }
    std::size_t pauses() const { return pauses_; }
    std::size_t polled_messages() const { return polled_messages_; }
    std::size_t waiting() const { return waiting_.size(); }

private:
    Events& events_;
    BatchEngine* engine_ = nullptr;
    std::deque<Message> waiting_;
    std::map<int, std::int64_t> next_offset_;
    std::set<TopicPartition> owned_;
    std::vector<TopicPartition> to_revoke_;
    std::vector<Offsets> commits_;
    Offsets committed_;
    bool paused_ = false;
    std::size_t polls_ = 0;
    std::size_t pauses_ = 0;
    std::size_t polled_messages_ = 0;
};

// Rows exist for every id except those in `missing`; the document says which
// load produced it, so that a test can tell snapshots apart.
class FakeSource final : public RowSource {
public:
    explicit FakeSource(Events& events) : events_(events) {}
    std::string name() const override { return "the fake database"; }

    Result<postgres::LoadedBatch> load(std::span<const std::string> ids) override {
        std::unique_lock lock(events_.mutex);
        const int load = ++loads_started_;
        ++loading_;
        max_loading_ = std::max(max_loading_, loading_);
        for (const auto& id : ids) started_with_.emplace_back(load, id);
        events_.notify();
        events_.changed.wait(lock, [&] {
            return std::none_of(ids.begin(), ids.end(),
                                [&](const std::string& id) { return held_.contains(id); });
        });
        --loading_;
        ++loads_finished_;
        events_.notify();
        if (failures_left_ > 0) {
            --failures_left_;
            return Status::retryable_error("database is down");
        }
        if (throws_left_ > 0) {
            --throws_left_;
            throw std::runtime_error("connection object exploded");
        }
        postgres::LoadedBatch batch;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (missing_.contains(ids[i])) {
                // Versions that name the load, so that a test can tell which op carried which.
                batch.missing.push_back({ids[i], 2000U + static_cast<std::uint64_t>(load), {i}});
            } else {
                batch.rows.push_back({ids[i],
                                      "{\"load\":" + std::to_string(load) + "}",
                                      1000U + static_cast<std::uint64_t>(load),
                                      {i}});
            }
        }
        return batch;
    }

    void hold(const std::string& id) {
        std::lock_guard lock(events_.mutex);
        held_.insert(id);
    }
    void release(const std::string& id) {
        std::lock_guard lock(events_.mutex);
        held_.erase(id);
        events_.notify();
    }
    void fail_next(int times) {
        std::lock_guard lock(events_.mutex);
        failures_left_ = times;
    }
    void throw_next(int times) {
        std::lock_guard lock(events_.mutex);
        throws_left_ = times;
    }
    void set_missing(const std::string& id) {
        std::lock_guard lock(events_.mutex);
        missing_.insert(id);
    }

    int loads_started() const { return loads_started_; }
    int loads_finished() const { return loads_finished_; }
    int loading() const { return loading_; }
    int max_loading() const { return max_loading_; }
    // The load that started with `id`, in order of starts.
    std::vector<int> loads_of(const std::string& id) const {
        std::vector<int> loads;
        for (const auto& [load, loaded_id] : started_with_) {
            if (loaded_id == id) loads.push_back(load);
        }
        return loads;
    }

private:
    Events& events_;
    std::set<std::string> held_;
    std::set<std::string> missing_;
    std::vector<std::pair<int, std::string>> started_with_;
    int loads_started_ = 0;
    int loads_finished_ = 0;
    int loading_ = 0;
    int max_loading_ = 0;
    int failures_left_ = 0;
    int throws_left_ = 0;
};

struct Written {
    plugin::OpKind kind;
    std::string id;
    std::string document;
    std::uint64_t version = 0;
};

class FakeSink final : public DocumentSink {
public:
    explicit FakeSink(Events& events) : events_(events) {}

    std::string name() const override { return "fake"; }

    std::vector<plugin::SinkResult> write(std::span<const plugin::SinkOp> ops,
                                          const plugin::WriteControl& control) override {
        std::unique_lock lock(events_.mutex);
        ++calls_;
        call_sizes_.push_back(ops.size());
        if (hold_from_call_ != 0 && calls_ >= hold_from_call_) held_ = true;
        in_call_ = true;
        events_.notify();
        // A held sink answers when released, or RETRY when told to stop.
        while (held_ && !(control.stop != nullptr && control.stop->load())) {
            events_.changed.wait_for(lock, milliseconds(1));
        }
        in_call_ = false;
        const bool stopped = held_;
        events_.notify();
        if (stopped) {
            ++interrupted_;
            return std::vector<plugin::SinkResult>(ops.size(), {plugin::OpStatus::Retry, 0, "stopped"});
        }
        if (throws_left_ > 0) {
            --throws_left_;
            throw std::runtime_error("plugin glue threw");
        }
        if (short_answers_left_ > 0) {
            --short_answers_left_;
            return {};
        }
        std::vector<plugin::SinkResult> results;
        for (const plugin::SinkOp& op : ops) {
            const std::string id(op.id);
            if (retries_left_ > 0) {
                --retries_left_;
                results.push_back({plugin::OpStatus::Retry, 503, "busy"});
                continue;
            }
            if (rejected_.contains(id)) {
                results.push_back({plugin::OpStatus::Reject, 400, "mapper_parsing_exception"});
                continue;
            }
            written_.push_back({op.kind, id, std::string(op.document), op.version});
            results.push_back({plugin::OpStatus::Ok, 0, {}});
        }
        return results;
    }

    Status flush() override {
        std::lock_guard lock(events_.mutex);
        ++flushes_;
        flushed_writes_ = written_.size();
        events_.notify();
        if (flush_failures_left_ > 0) {
            --flush_failures_left_;
            return Status::retryable_error("flush failed");
        }
        return Status::ok();
    }

    void hold() {
        std::lock_guard lock(events_.mutex);
        held_ = true;
    }
    void release() {
        std::lock_guard lock(events_.mutex);
        held_ = false;
        hold_from_call_ = 0;
        events_.notify();
    }
    // Lets the call in progress answer; later calls are held as hold_from_call says.
    void release_this_call() {
        std::lock_guard lock(events_.mutex);
        held_ = false;
        events_.notify();
    }
    // Holds every call from the n-th (counting from 1) on, until release().
    void hold_from_call(int n) {
        std::lock_guard lock(events_.mutex);
        hold_from_call_ = n;
    }
    void reject(const std::string& id) {
        std::lock_guard lock(events_.mutex);
        rejected_.insert(id);
    }
    // The operator fixed the index: what was rejected is written now.
    void accept_all() {
        std::lock_guard lock(events_.mutex);
        rejected_.clear();
        events_.notify();
    }
    void retry_next(int ops) {
        std::lock_guard lock(events_.mutex);
        retries_left_ = ops;
    }
    void throw_next(int calls) {
        std::lock_guard lock(events_.mutex);
        throws_left_ = calls;
    }
    void answer_short_next(int calls) {
        std::lock_guard lock(events_.mutex);
        short_answers_left_ = calls;
    }
    void fail_flush_next(int calls) {
        std::lock_guard lock(events_.mutex);
        flush_failures_left_ = calls;
    }

    const std::vector<Written>& written() const { return written_; }
    bool in_call() const { return in_call_; }
    int calls() const { return calls_; }
    const std::vector<std::size_t>& call_sizes() const { return call_sizes_; }
    int interrupted() const { return interrupted_; }
    int flushes() const { return flushes_; }
    std::size_t flushed_writes() const { return flushed_writes_; }
    std::vector<std::string> documents_of(const std::string& id) const {
        std::vector<std::string> documents;
        for (const Written& write : written_) {
            if (write.id == id) documents.push_back(write.document);
        }
        return documents;
    }

private:
    Events& events_;
    bool held_ = false;
    bool in_call_ = false;
    std::set<std::string> rejected_;
    std::vector<Written> written_;
    int retries_left_ = 0;
    int throws_left_ = 0;
    int short_answers_left_ = 0;
    int flush_failures_left_ = 0;
    int calls_ = 0;
    int hold_from_call_ = 0;
    std::vector<std::size_t> call_sizes_;
    int interrupted_ = 0;
    int flushes_ = 0;
    std::size_t flushed_writes_ = 0;
};

struct Letter {
    TopicPartition from;
    std::int64_t offset;
    std::string stage;
    std::string reason;
};

class FakeDeadLetters final : public DeadLetterOutput {
public:
    explicit FakeDeadLetters(Events& events) : events_(events) {}

    Status publish(const std::vector<kafka::DeadLetter>& letters) override {
        std::lock_guard lock(events_.mutex);
        ++attempts_;
        events_.notify();
        if (failures_left_ > 0) {
            --failures_left_;
            return Status::retryable_error("broker down");
        }
        for (const auto& letter : letters) {
            letters_.push_back(
                {letter.original->topic_partition(), letter.original->offset, letter.stage, letter.reason});
        }
        return Status::ok();
    }
    void fail_next(int times) {
        std::lock_guard lock(events_.mutex);
        failures_left_ = times;
    }
    const std::vector<Letter>& letters() const { return letters_; }
    int attempts() const { return attempts_; }

private:
    Events& events_;
    std::vector<Letter> letters_;
    int failures_left_ = 0;
    int attempts_ = 0;
};

class BatchEngineTest : public ::testing::Test {
protected:
    BatchEngineTest() {
        options_.name = "test";
        options_.max_messages = 10;
        options_.max_wait = milliseconds(5);
        options_.poll_slice = milliseconds(5);
        options_.pause_after = milliseconds(20);
        options_.retry_initial = milliseconds(1);
        options_.retry_max = milliseconds(5);
        options_.loaders = 3;
        options_.max_batches_in_flight = 4;
    }
    ~BatchEngineTest() override { stop(); }

    // Starts the engine on its own thread with partitions 0 and 1 assigned.
    void start(std::chrono::milliseconds grace = std::chrono::seconds(10)) {
        stop_signal_ = std::make_unique<StopSignal>(grace);
        engine_ = std::make_unique<BatchEngine>(options_, transport_, source_, sink_, dead_letters_, stats_,
                                                metrics_);
        transport_.attach(*engine_);
        transport_.assign({partition(0), partition(1)});
        runner_ = std::thread([this] { result_ = engine_->run(*stop_signal_); });
    }
    void stop() {
        if (!runner_.joinable()) return;
        stop_signal_->request();
        runner_.join();
    }
    void wait(const std::function<bool()>& done, const char* what) { events_.wait(done, what); }
    // Lets the fetching loop turn a few times, so that anything it would do it has done.
    void let_engine_turn() {
        std::size_t polls = 0;
        wait([&] { return (polls = transport_.polls()) > 0; }, "a poll");
        wait([&] { return transport_.polls() >= polls + 5; }, "five more polls");
    }

    Events events_;
    FakeTransport transport_{events_};
    FakeSource source_{events_};
    FakeSink sink_{events_};
    FakeDeadLetters dead_letters_{events_};
    PipelineStats stats_;
    metrics::Registry registry_;
    metrics::PipelineMetrics metrics_{registry_, "test", stats_};
    EngineOptions options_;
    std::unique_ptr<StopSignal> stop_signal_;
    std::unique_ptr<BatchEngine> engine_;
    std::thread runner_;
    Status result_;
};

TEST_F(BatchEngineTest, WritesFoundRowsAndDeletesMissingOnesThenCommits) {
    source_.set_missing("2");
    start();
    transport_.produce_ids(0, {1, 2, 3});
    wait([&] { return transport_.committed(0) == 3; }, "the commit of offsets 0-2");
    ASSERT_EQ(sink_.written().size(), 3U);
    EXPECT_EQ(sink_.written()[0].kind, plugin::OpKind::Upsert);
    EXPECT_EQ(sink_.written()[0].id, "1");
    const auto deleted = std::find_if(sink_.written().begin(), sink_.written().end(),
                                      [](const Written& write) { return write.id == "2"; });
    ASSERT_NE(deleted, sink_.written().end());
    EXPECT_EQ(deleted->kind, plugin::OpKind::Delete);
    stop();
    EXPECT_TRUE(result_.is_ok());
    EXPECT_EQ(stats_.upserts.load(), 2U);
    EXPECT_EQ(stats_.deletes.load(), 1U);
}

TEST_F(BatchEngineTest, UpsertsAndDeletesCarryTheVersionsTheSourceGave) {
    source_.set_missing("2");
    start();
    transport_.produce_ids(0, {1, 2});
    wait([&] { return transport_.committed(0) == 2; }, "the commit of offsets 0-1");
    ASSERT_EQ(sink_.written().size(), 2U);
    for (const Written& write : sink_.written()) {
        EXPECT_EQ(write.version, write.kind == plugin::OpKind::Upsert ? 1001U : 2001U) << write.id;
    }
    stop();
}

TEST_F(BatchEngineTest, CommitsNothingBeforeTheSinkAnswered) {
    sink_.hold();
    start();
    transport_.produce_ids(0, {1, 2});
    transport_.produce_ids(1, {3});
    wait([&] { return sink_.in_call(); }, "the write");
    let_engine_turn();
    wait([&] { return transport_.commits().empty(); }, "no commit");
    sink_.release();
    wait([&] { return transport_.committed(0) == 2 && transport_.committed(1) == 1; }, "the commit");
}

TEST_F(BatchEngineTest, CommitsOfAPartitionMoveInOffsetOrder) {
    options_.max_messages = 2;
    source_.hold("1");  // the first batch cannot load; later ones can
    start();
    transport_.produce_ids(0, {1, 2});
    wait([&] { return source_.loads_started() >= 1; }, "the first load");
    transport_.produce_ids(0, {3, 4});
    transport_.produce_ids(0, {5, 6});
    wait([&] { return source_.loads_finished() >= 2; }, "later batches loaded");
    let_engine_turn();
    wait([&] { return transport_.commits().empty() && sink_.written().empty(); },
         "nothing written or committed");
    source_.release("1");
    wait([&] { return transport_.committed(0) == 6; }, "every offset committed");
    std::int64_t last = -1;
    for (const Offsets& commit : transport_.commits()) {
        EXPECT_GT(commit.at(partition(0)), last);
        last = commit.at(partition(0));
    }
    ASSERT_EQ(sink_.written().size(), 6U);
    for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(sink_.written()[i].id, std::to_string(i + 1));
}

TEST_F(BatchEngineTest, ReloadsTheNextBatchWhileTheSinkWritesThisOne) {
    options_.max_messages = 2;
    sink_.hold();
    start();
    transport_.produce_ids(0, {1, 2});
    wait([&] { return sink_.in_call(); }, "the first write");
    transport_.produce_ids(0, {3, 4});
    transport_.produce_ids(1, {5, 6});
    wait([&] { return source_.loads_finished() == 3; }, "two more batches reloaded during the write");
    sink_.release();
    wait([&] { return transport_.committed(0) == 4 && transport_.committed(1) == 2; }, "the commits");
}

TEST_F(BatchEngineTest, BatchesLoadedDuringAWriteAreWrittenTogetherInOrder) {
    options_.max_messages = 2;
    sink_.hold();
    start();
    transport_.produce_ids(0, {1, 2});
    wait([&] { return sink_.in_call(); }, "the first write");
    transport_.produce_ids(0, {3, 4});
    transport_.produce_ids(1, {5, 6});
    transport_.produce_ids(0, {7, 8});
    wait([&] { return stats_.rows_loaded.load() == 8; }, "three more batches reloaded during the write");
    sink_.release();
    wait([&] { return transport_.committed(0) == 6 && transport_.committed(1) == 2; }, "the commits");
    // One call for the first batch, one for the three that were loaded meanwhile.
    EXPECT_EQ(sink_.call_sizes(), (std::vector<std::size_t>{2, 6}));
    std::vector<std::string> order;
    for (const Written& write : sink_.written()) order.push_back(write.id);
    EXPECT_EQ(order, (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8"}));
}

TEST_F(BatchEngineTest, LoadsRunConcurrentlyOnSeveralConnections) {
    options_.max_messages = 1;
    source_.hold("1");
    source_.hold("2");
    start();
    transport_.produce_ids(0, {1});
    transport_.produce_ids(1, {2});
    wait([&] { return source_.loading() == 2; }, "two loads at once");
    source_.release("1");
    source_.release("2");
    wait([&] { return transport_.committed(0) == 1 && transport_.committed(1) == 1; }, "the commits");
    EXPECT_EQ(source_.max_loading(), 2);
}

TEST_F(BatchEngineTest, ABatchSharingAnIdWithALoadingBatchWaitsForThatLoad) {
    options_.max_messages = 2;
    source_.hold("1");
    start();
    transport_.produce_ids(0, {1, 2});
    wait([&] { return source_.loading() == 1; }, "the first load");
    transport_.produce_ids(1, {3, 1});  // id 1 again, in another partition
    let_engine_turn();
    wait([&] { return source_.loads_started() == 1; }, "the second load held back");
    source_.release("1");
    wait([&] { return transport_.committed(0) == 2 && transport_.committed(1) == 2; }, "the commits");
    const std::vector<int> loads = source_.loads_of("1");
    ASSERT_EQ(loads.size(), 2U);
    // The sink saw id 1 from the first load, then from the second (newer) one.
    EXPECT_EQ(sink_.documents_of("1"),
              (std::vector<std::string>{"{\"load\":" + std::to_string(loads[0]) + "}",
                                        "{\"load\":" + std::to_string(loads[1]) + "}"}));
}

TEST_F(BatchEngineTest, RejectedDocumentsAreDeadLetteredBeforeTheCommit) {
    sink_.reject("2");
    dead_letters_.fail_next(3);
    start();
    transport_.produce_ids(0, {1, 2, 3});
    wait([&] { return transport_.committed(0) == 3; }, "the commit");
    EXPECT_EQ(dead_letters_.attempts(), 4);
    ASSERT_EQ(dead_letters_.letters().size(), 1U);
    EXPECT_EQ(dead_letters_.letters()[0].offset, 1);
    EXPECT_EQ(dead_letters_.letters()[0].stage, "sink-reject");
    EXPECT_NE(dead_letters_.letters()[0].reason.find("mapper_parsing_exception"), std::string::npos);
    EXPECT_EQ(stats_.dead_letter_retries.load(), 3U);
}

TEST_F(BatchEngineTest, NoCommitWhileDeadLettersAreNotAcknowledged) {
    sink_.reject("1");
    dead_letters_.fail_next(1'000'000);
    start();
    transport_.produce_ids(0, {1});
    wait([&] { return dead_letters_.attempts() >= 5; }, "dead-letter retries");
    wait([&] { return transport_.commits().empty(); }, "no commit");
    dead_letters_.fail_next(0);
    wait([&] { return transport_.committed(0) == 1; }, "the commit once acknowledged");
}

TEST_F(BatchEngineTest, MessagesThatCannotBeParsedAreDeadLetteredAndTheRestIndexed) {
    start();
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    transport_.produce(0, {"{\"id\": 1}", "{\"id\":1e400}", "{\"id\": " + std::string(400, '9') + "}",
                           "{\"id\": 2}", "{\"id\": " + deep + "}", "not json", "{\"id\": 3}"});
    wait([&] { return transport_.committed(0) == 7; }, "the commit");
    std::set<std::string> written;
    for (const Written& write : sink_.written()) written.insert(write.id);
    EXPECT_TRUE(written.contains("1") && written.contains("2") && written.contains("3"));
    std::set<std::int64_t> dead;
    for (const Letter& letter : dead_letters_.letters()) {
        EXPECT_EQ(letter.stage, "parse");
        EXPECT_FALSE(letter.reason.empty());
        dead.insert(letter.offset);
    }
    EXPECT_TRUE(dead.contains(1) && dead.contains(4) && dead.contains(5));
    EXPECT_FALSE(dead.contains(0) || dead.contains(3) || dead.contains(6));
}

TEST_F(BatchEngineTest, FailedReloadsAreRetriedWithoutCommitting) {
    source_.fail_next(3);
    start();
    transport_.produce_ids(0, {1});
    wait([&] { return transport_.committed(0) == 1; }, "the commit");
    EXPECT_EQ(stats_.load_retries.load(), 3U);
    EXPECT_EQ(source_.loads_started(), 4);
    EXPECT_FALSE(stats_.paused.load());
}

TEST_F(BatchEngineTest, ASourceThatThrowsIsRetried) {
    source_.throw_next(2);
    start();
    transport_.produce_ids(0, {1});
    wait([&] { return transport_.committed(0) == 1; }, "the commit");
    EXPECT_EQ(stats_.load_retries.load(), 2U);
}

TEST_F(BatchEngineTest, RetriedOpsAreWrittenAgainUntilTheySettle) {
    sink_.retry_next(5);
    start();
    transport_.produce_ids(0, {1, 2, 3});
    wait([&] { return transport_.committed(0) == 3; }, "the commit");
    EXPECT_EQ(stats_.sink_retries.load(), 5U);
    EXPECT_EQ(sink_.written().size(), 3U);
}

TEST_F(BatchEngineTest, ASinkThatThrowsOrAnswersNonsenseIsRetried) {
    sink_.throw_next(2);
    sink_.answer_short_next(2);
    start();
    transport_.produce_ids(0, {1, 2});
    wait([&] { return transport_.committed(0) == 2; }, "the commit");
    EXPECT_EQ(sink_.calls(), 5);
    EXPECT_EQ(sink_.written().size(), 2U);
    EXPECT_TRUE(dead_letters_.letters().empty());
}

TEST_F(BatchEngineTest, FlushesBeforeCommittingAndWritesAgainWhenFlushFails) {
    sink_.fail_flush_next(1);
    start();
    transport_.produce_ids(0, {1, 2});
    wait([&] { return transport_.committed(0) == 2; }, "the commit");
    EXPECT_EQ(sink_.flushes(), 2);
    EXPECT_EQ(sink_.written().size(), 4U);  // written, flush failed, written again
    EXPECT_EQ(sink_.flushed_writes(), 4U);
}

TEST_F(BatchEngineTest, ARevokedPartitionIsNeitherWrittenNorCommitted) {
    sink_.hold();
    start();
    transport_.produce_ids(0, {1, 2});
    transport_.produce_ids(1, {3, 4});
    wait([&] { return sink_.in_call(); }, "the write of the batch of both partitions");
    transport_.revoke_at_next_poll({partition(0)});
    // The revocation interrupts the write that holds ops of partition 0 before it returns.
    wait([&] { return sink_.interrupted() == 1; }, "the write interrupted by the revocation");
    sink_.release();
    wait([&] { return transport_.committed(1) == 2; }, "the commit of partition 1");
    EXPECT_EQ(transport_.committed(0), -1);
    for (const Offsets& commit : transport_.commits()) EXPECT_FALSE(commit.contains(partition(0)));
    std::set<std::string> written;
    for (const Written& write : sink_.written()) written.insert(write.id);
    EXPECT_EQ(written, (std::set<std::string>{"3", "4"}));
}

TEST_F(BatchEngineTest, ARevocationInterruptsAWriteOfSeveralBatchesAndKeepsTheOthersPartitions) {
    options_.max_messages = 2;
    sink_.hold();
    start();
    transport_.produce_ids(1, {1, 2});
    wait([&] { return sink_.in_call(); }, "the first write");
    sink_.hold_from_call(2);
    transport_.produce_ids(0, {3, 4});
    transport_.produce_ids(1, {5, 6});
    wait([&] { return stats_.rows_loaded.load() == 6; }, "two batches reloaded during the write");
    sink_.release_this_call();
    wait([&] { return sink_.calls() == 2 && sink_.in_call(); }, "the write of both batches");
    transport_.revoke_at_next_poll({partition(0)});
    wait([&] { return sink_.interrupted() == 1; }, "the write interrupted by the revocation");
    sink_.release();
    wait([&] { return transport_.committed(1) == 4; }, "the commit of partition 1");
    EXPECT_EQ(transport_.committed(0), -1);
    for (const Offsets& commit : transport_.commits()) EXPECT_FALSE(commit.contains(partition(0)));
    std::set<std::string> written;
    for (const Written& write : sink_.written()) written.insert(write.id);
    EXPECT_EQ(written, (std::set<std::string>{"1", "2", "5", "6"}));
}

TEST_F(BatchEngineTest, BatchesOfARevokedPartitionStillLoadingAreDropped) {
    options_.max_messages = 2;
    source_.hold("1");
    start();
    transport_.produce_ids(0, {1, 2});
    wait([&] { return source_.loading() == 1; }, "the load");
    transport_.revoke_at_next_poll({partition(0)});
    let_engine_turn();
    source_.release("1");
    transport_.produce_ids(1, {5, 6});
    wait([&] { return transport_.committed(1) == 2; }, "partition 1 committed");
    EXPECT_EQ(transport_.committed(0), -1);
    for (const Written& write : sink_.written()) EXPECT_TRUE(write.id == "5" || write.id == "6") << write.id;
}

TEST_F(BatchEngineTest, AStopFinishesTheBatchesInFlightAndCommitsThem) {
    sink_.hold();
    start();
    transport_.produce_ids(0, {1, 2, 3});
    wait([&] { return sink_.in_call(); }, "the write");
    stop_signal_->request();
    sink_.release();
    runner_.join();
    EXPECT_TRUE(result_.is_ok());
    EXPECT_EQ(transport_.committed(0), 3);
}

TEST_F(BatchEngineTest, AStopPastItsGraceCommitsNothingUnwritten) {
    sink_.hold();
    start(milliseconds(50));
    transport_.produce_ids(0, {1, 2, 3});
    wait([&] { return sink_.in_call(); }, "the write");
    stop_signal_->request();
    runner_.join();  // the grace runs out: the held write is told to stop
    EXPECT_EQ(sink_.interrupted(), 1);
    EXPECT_TRUE(transport_.commits().empty());
    EXPECT_TRUE(sink_.written().empty());
}

TEST_F(BatchEngineTest, AStopWhileTheDatabaseIsDownCommitsNothing) {
    source_.fail_next(1'000'000);
    start(milliseconds(50));
    transport_.produce_ids(0, {1});
    wait([&] { return stats_.load_retries.load() >= 3; }, "load retries");
    EXPECT_TRUE(stats_.paused.load());
    stop();
    EXPECT_TRUE(transport_.commits().empty());
}

TEST_F(BatchEngineTest, FetchingStopsWhenTheBudgetIsSpentAndTheTransportIsPaused) {
    options_.max_messages = 5;
    options_.max_batches_in_flight = 2;
    sink_.hold();
    start();
    std::vector<int> ids(200);
    for (int i = 0; i < 200; ++i) ids[static_cast<std::size_t>(i)] = i + 1;
    transport_.produce_ids(0, ids);
    wait([&] { return transport_.pauses() >= 1; }, "the pause");
    let_engine_turn();
    // Two batches in flight and at most one being filled: nothing more was taken.
    wait([&] { return transport_.polled_messages() <= 15 && transport_.waiting() >= 185; },
         "messages left behind");
    sink_.release();
    wait([&] { return transport_.committed(0) == 200; }, "every message committed");
}

TEST_F(BatchEngineTest, TheByteBudgetBoundsBatchesInFlight) {
    options_.max_messages = 1;
    options_.max_bytes_in_flight = 1;  // any batch spends it: one batch at a time
    sink_.hold();
    start();
    transport_.produce_ids(0, {1, 2, 3});
    wait([&] { return sink_.in_call(); }, "the first write");
    let_engine_turn();
    wait([&] { return source_.loads_started() == 1; }, "no second batch admitted");
    sink_.release();
    wait([&] { return transport_.committed(0) == 3; }, "the commits");
}

// A whole stream refused for one reason (a mapping conflict) pauses and
// converges once fixed; one document refused is dead-lettered (above).
TEST_F(BatchEngineTest, ManyDocumentsRejectedForOneReasonPauseInsteadOfBeingDeadLetteredUntilFixed) {
    options_.pause_after_same_rejects = 5;
    for (int id = 1; id <= 8; ++id) sink_.reject(std::to_string(id));
    start();
    transport_.produce_ids(0, {1, 2, 3, 4, 5, 6, 7, 8});
    std::int64_t committed = 0;
    bool dead_lettered = true;
    wait(
        [&] {
            committed = transport_.committed(0);
            dead_lettered = !dead_letters_.letters().empty();
            return sink_.calls() >= 5 && stats_.paused.load();
        },
        "the batch retried while paused");
    EXPECT_EQ(committed, -1);
    EXPECT_FALSE(dead_lettered);
    EXPECT_EQ(stats_.held_rejects.load(), 8U);
    EXPECT_NE(stats_.pause_reason.get().find("8 documents rejected for the same reason"), std::string::npos)
        << stats_.pause_reason.get();

    sink_.accept_all();
    wait([&] { return transport_.committed(0) == 8; }, "the commit once the index accepts them");
    EXPECT_EQ(sink_.written().size(), 8U);
    EXPECT_TRUE(dead_letters_.letters().empty());
    EXPECT_FALSE(stats_.paused.load());
    EXPECT_EQ(stats_.held_rejects.load(), 0U);
}

TEST_F(BatchEngineTest, WithTheGuardOffEveryRejectIsDeadLettered) {
    options_.pause_after_same_rejects = 0;
    for (int id = 1; id <= 8; ++id) sink_.reject(std::to_string(id));
    start();
    transport_.produce_ids(0, {1, 2, 3, 4, 5, 6, 7, 8});
    wait([&] { return transport_.committed(0) == 8; }, "the commit");
    EXPECT_EQ(dead_letters_.letters().size(), 8U);
}

TEST_F(BatchEngineTest, AStopEndsAPauseForRejectsPromptlyAndCommitsNothingHeld) {
    options_.pause_after_same_rejects = 5;
    options_.retry_max = milliseconds(50);
    for (int id = 1; id <= 8; ++id) sink_.reject(std::to_string(id));
    start(milliseconds(200));
    transport_.produce_ids(0, {1, 2, 3, 4, 5, 6, 7, 8});
    int calls_before = 0;
    wait(
        [&] {
            calls_before = sink_.calls();
            return stats_.held_rejects.load() == 8U;
        },
        "the held rejects");
    const auto stopping = std::chrono::steady_clock::now();
    stop();
    EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(5));
    // Backoff: not a busy loop (50 ms at most between tries, over at most ~0.3 s).
    EXPECT_LT(sink_.calls() - calls_before, 20);
    EXPECT_EQ(transport_.committed(0), -1);
    EXPECT_TRUE(dead_letters_.letters().empty());
}

}  // namespace
