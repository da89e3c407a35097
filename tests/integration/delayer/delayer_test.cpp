// The delayer against the real broker: re-published after the delay and not
// before, both message formats, membership kept through long delays, and no
// waiting message lost when the delayer is killed.
#include "integration/kafka/kafka_fixture.hpp"

#include <indexer/delayer/delayer.hpp>
#include <indexer/kafka/admin.hpp>
#include <indexer/kafka/consumer.hpp>

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <thread>

namespace indexer::delayer {
namespace {

using indexer::testing::create_test_topic;
using indexer::testing::eventually;
using indexer::testing::kafka_client;
using indexer::testing::poll_messages;
using indexer::testing::produce_all;
using indexer::testing::reader_of;
using indexer::testing::text_message;
using kafka::Message;
using namespace std::chrono_literals;

DelayerOptions options_for(const std::string& brokers, const std::string& topic, const std::string& target,
                           std::chrono::milliseconds delay,
                           std::map<std::string, std::string> properties = {}) {
    DelayerOptions options;
    options.name = indexer::testing::unique_name("delayer");
    options.topic = topic;
    options.target_topic = target;
    options.delay = delay;
    options.kafka = kafka_client(brokers, std::move(properties));
    return options;
}

// A Delayer running on its own thread until destroyed.
class RunningDelayer {
public:
    explicit RunningDelayer(DelayerOptions options) {
        auto created = Delayer::create(std::move(options));
        EXPECT_TRUE(created) << created.error();
        if (!created) return;
        delayer_ = std::move(created.value());
        thread_ = std::thread([this] { result_ = delayer_->run(); });
    }
    ~RunningDelayer() { EXPECT_TRUE(stop()); }

    Status stop() {
        if (thread_.joinable()) {
            delayer_->stop();
            thread_.join();
        }
        return result_;
    }
    bool started() const { return delayer_ != nullptr; }
    DelayerStats stats() const { return delayer_->stats(); }

private:
    std::unique_ptr<Delayer> delayer_;
    std::thread thread_;
    Status result_;
};

std::int64_t messages_in(const std::string& brokers, const std::string& topic) {
    auto admin = kafka::Admin::create(kafka_client(brokers));
    EXPECT_TRUE(admin) << admin.error();
    auto offsets = admin.value()->offsets(topic, std::nullopt, 10s);
    EXPECT_TRUE(offsets) << offsets.error();
    std::int64_t total = 0;
    if (offsets) {
        for (const auto& partition : offsets.value()) total += partition.high - partition.low;
    }
    return total;
}

std::map<std::string, Message> by_key(const std::vector<Message>& messages) {
    std::map<std::string, Message> keyed;
    for (const auto& message : messages) keyed.emplace(message.key.value_or(""), message);
    return keyed;
}

bool wait_for_assignment(const RunningDelayer& delayer) {
    return eventually([&] { return delayer.stats().assignments > 0; },
                      [] { std::this_thread::sleep_for(100ms); });
}

std::int64_t epoch_seconds_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

TEST(Delayer, RepublishesAfterTheDelayAndNotBefore) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "delay", 4);
    const std::string target = create_test_topic(brokers, "target", 4);
    RunningDelayer delayer(options_for(brokers, topic, target, 3s));
    ASSERT_TRUE(delayer.started());
    ASSERT_TRUE(wait_for_assignment(delayer));

    std::vector<kafka::OutgoingMessage> messages;
    for (int i = 0; i < 10; ++i) {
        messages.push_back(
            text_message(topic, "k" + std::to_string(i), R"({"id": )" + std::to_string(i) + "}"));
    }
    produce_all(brokers, messages);
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(messages_in(brokers, target), 0) << "re-published before the delay";
    EXPECT_GT(delayer.stats().waiting, 0U);  // the rest of a paused partition waits in the topic

    auto source_reader = reader_of(brokers, topic);
    auto target_reader = reader_of(brokers, target);
    ASSERT_TRUE(source_reader && target_reader);
    const auto sources = by_key(poll_messages(*source_reader, 10));
    const auto republished = poll_messages(*target_reader, 10);
    ASSERT_EQ(republished.size(), 10U);
    for (const auto& message : republished) {
        const auto& source = sources.at(message.key.value());
        EXPECT_EQ(message.value, source.value);
        ASSERT_TRUE(message.timestamp && source.timestamp);
        EXPECT_GE(*message.timestamp - *source.timestamp, 3s) << "key " << *message.key;
    }
    // The counters follow once the acknowledgements were processed.
    EXPECT_TRUE(eventually([&] { return delayer.stats().republished == 10 && delayer.stats().waiting == 0; },
                           [] { std::this_thread::sleep_for(100ms); }, 10s));
    const Status stopped = delayer.stop();
    EXPECT_TRUE(stopped) << stopped.message();
}

TEST(Delayer, RepublishesTheWrappersPayloadAndPlainValuesUnchangedKeepingKeysAndPartitions) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "delay", 4);
    const std::string target = create_test_topic(brokers, "target", 4);
    std::vector<kafka::OutgoingMessage> messages;
    for (int i = 0; i < 10; ++i) {
        const std::string id = std::to_string(i);
        messages.push_back(text_message(topic, "w" + id,
                                        R"({"payload": {"id": )" + id +
                                            R"(, "source": "kafka_sync"},  "created_at": )" +
                                            std::to_string(epoch_seconds_now()) + "}"));
        messages.push_back(text_message(topic, "p" + id, R"({"id": )" + id + R"(,  "kind": "plain"})",
                                        {{"trace", "t" + id}}));
    }
    produce_all(brokers, messages);
    RunningDelayer delayer(options_for(brokers, topic, target, 2s));
    ASSERT_TRUE(delayer.started());

    auto source_reader = reader_of(brokers, topic);
    auto target_reader = reader_of(brokers, target);
    ASSERT_TRUE(source_reader && target_reader);
    const auto sources = by_key(poll_messages(*source_reader, 20));
    const auto republished = by_key(poll_messages(*target_reader, 20));
    ASSERT_EQ(republished.size(), 20U);
    for (int i = 0; i < 10; ++i) {
        const std::string id = std::to_string(i);
        const Message& wrapper = republished.at("w" + id);
        // The payload's own bytes, not a re-serialisation of it.
        EXPECT_EQ(wrapper.value, R"({"id": )" + id + R"(, "source": "kafka_sync"})");
        EXPECT_EQ(wrapper.partition, sources.at("w" + id).partition);
        const Message& plain = republished.at("p" + id);
        EXPECT_EQ(plain.value, R"({"id": )" + id + R"(,  "kind": "plain"})");
        EXPECT_EQ(plain.partition, sources.at("p" + id).partition);
        EXPECT_EQ(plain.headers, (kafka::Headers{{"trace", "t" + id}}));
    }
}

TEST(Delayer, DelayLongerThanTheMaxPollIntervalKeepsTheGroupAndRepublishesEachMessageOnce) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "delay", 4);
    const std::string target = create_test_topic(brokers, "target", 4);
    RunningDelayer delayer(options_for(brokers, topic, target, 7s,
                                       {{"max.poll.interval.ms", "6000"},
                                        {"session.timeout.ms", "6000"},
                                        {"heartbeat.interval.ms", "1000"}}));
    ASSERT_TRUE(delayer.started());
    ASSERT_TRUE(wait_for_assignment(delayer));
    std::vector<kafka::OutgoingMessage> messages;
    for (int i = 0; i < 40; ++i)
        messages.push_back(text_message(topic, "k" + std::to_string(i), std::to_string(i)));
    produce_all(brokers, messages);

    ASSERT_TRUE(eventually([&] { return delayer.stats().republished >= 40; },
                           [] { std::this_thread::sleep_for(200ms); }));
    std::this_thread::sleep_for(2s);  // room for duplicates to show up
    const DelayerStats stats = delayer.stats();
    EXPECT_EQ(stats.assignments, 1U) << "the group rebalanced";
    EXPECT_EQ(stats.revocations, 0U) << "the group rebalanced";
    EXPECT_EQ(stats.republished, 40U);
    EXPECT_EQ(messages_in(brokers, target), 40);
    auto target_reader = reader_of(brokers, target);
    ASSERT_TRUE(target_reader);
    EXPECT_EQ(by_key(poll_messages(*target_reader, 40)).size(), 40U);
}

TEST(Delayer, BrokenWrapperGoesToTheDeadLetterTopicAndPlainMessagesStillPass) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "delay", 1);
    const std::string target = create_test_topic(brokers, "target", 1);
    const std::string dead_letters = create_test_topic(brokers, "delay_dlq", 1);
    produce_all(brokers,
                {text_message(topic, "broken", R"({"payload": {"id": 1}, "created_at": "yesterday"})"),
                 text_message(topic, "fine", R"({"id": 2})")});
    DelayerOptions options = options_for(brokers, topic, target, 1s);
    options.dead_letter_topic = dead_letters;
    RunningDelayer delayer(options);
    ASSERT_TRUE(delayer.started());

    auto dead_letter_reader = reader_of(brokers, dead_letters);
    auto target_reader = reader_of(brokers, target);
    ASSERT_TRUE(dead_letter_reader && target_reader);
    const auto letters = poll_messages(*dead_letter_reader, 1);
    ASSERT_EQ(letters.size(), 1U);
    EXPECT_EQ(letters[0].key, "broken");
    EXPECT_EQ(letters[0].value, R"({"payload": {"id": 1}, "created_at": "yesterday"})");
    ASSERT_NE(kafka::find_header(letters[0].headers, "indexer.stage"), nullptr);
    EXPECT_EQ(kafka::find_header(letters[0].headers, "indexer.stage")->value, "delay-wrapper");
    ASSERT_NE(kafka::find_header(letters[0].headers, "indexer.reason"), nullptr);
    EXPECT_NE(kafka::find_header(letters[0].headers, "indexer.reason")->value->find("created_at"),
              std::string::npos);
    const auto republished = poll_messages(*target_reader, 1);
    ASSERT_EQ(republished.size(), 1U);
    EXPECT_EQ(republished[0].key, "fine");
    EXPECT_TRUE(eventually([&] { return delayer.stats().dead_lettered == 1; },
                           [] { std::this_thread::sleep_for(100ms); }, 10s));
}

TEST(Delayer, BrokenWrapperIsPassedThroughUnchangedWithoutADeadLetterTopic) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "delay", 1);
    const std::string target = create_test_topic(brokers, "target", 1);
    produce_all(brokers, {text_message(topic, "broken", R"({"created_at": 1700000000})")});
    RunningDelayer delayer(options_for(brokers, topic, target, 1s));
    ASSERT_TRUE(delayer.started());
    auto target_reader = reader_of(brokers, target);
    ASSERT_TRUE(target_reader);
    const auto republished = poll_messages(*target_reader, 1);
    ASSERT_EQ(republished.size(), 1U);
    EXPECT_EQ(republished[0].value, R"({"created_at": 1700000000})");
    EXPECT_TRUE(eventually([&] { return delayer.stats().broken_passed_through == 1; },
                           [] { std::this_thread::sleep_for(100ms); }, 10s));
}

// Runs a delayer in a child process that writes 'a' to `signals` once it has
// partitions and 'w' once it re-published `republished_first` messages and has
// others waiting; never returns.
[[noreturn]] void run_delayer_child(DelayerOptions options, std::uint64_t republished_first, int signals) {
    auto created = Delayer::create(std::move(options));
    if (!created) _exit(2);
    Delayer& delayer = *created.value();
    std::thread watcher([&] {
        while (delayer.stats().assignments == 0) std::this_thread::sleep_for(50ms);
        (void)!write(signals, "a", 1);
        // Pausing leaves the rest of a partition in Kafka: some wait in memory,
        // the others in the topic.
        while (delayer.stats().republished < republished_first || delayer.stats().waiting == 0) {
            std::this_thread::sleep_for(50ms);
        }
        (void)!write(signals, "w", 1);
    });
    (void)delayer.run();
    _exit(3);  // only SIGKILL is expected to end it
}

// The next byte from `fd`, or 0 when none came within 60 s.
char next_signal(int fd) {
    pollfd readable{fd, POLLIN, 0};
    char byte = 0;
    if (::poll(&readable, 1, 60'000) != 1 || read(fd, &byte, 1) != 1) return 0;
    return byte;
}

TEST(Delayer, KilledWhileMessagesWaitThenRestartedRepublishesEveryMessage) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "delay", 4);
    const std::string target = create_test_topic(brokers, "target", 4);
    const std::map<std::string, std::string> properties{{"session.timeout.ms", "6000"},
                                                        {"heartbeat.interval.ms", "1000"}};
    DelayerOptions options = options_for(brokers, topic, target, 10s, properties);
    // Due at once: re-published (and committed) by the first delayer, maybe again by the second.
    std::vector<kafka::OutgoingMessage> old_messages;
    for (int i = 0; i < 10; ++i) {
        old_messages.push_back(text_message(topic, "old" + std::to_string(i),
                                            R"({"payload": {"id": )" + std::to_string(i) +
                                                R"(}, "created_at": )" +
                                                std::to_string(epoch_seconds_now() - 60) + "}"));
    }
    produce_all(brokers, old_messages);  // every librdkafka handle of this process is gone before fork()

    int pipe_ends[2];
    ASSERT_EQ(pipe(pipe_ends), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(pipe_ends[0]);
        run_delayer_child(options, 10, pipe_ends[1]);
    }
    close(pipe_ends[1]);
    const char assigned = next_signal(pipe_ends[0]);
    std::vector<kafka::OutgoingMessage> new_messages;
    for (int i = 0; i < 30; ++i) {
        new_messages.push_back(text_message(topic, "new" + std::to_string(i), std::to_string(i)));
    }
    if (assigned == 'a') produce_all(brokers, new_messages);  // waiting 10 s in the child
    const char waiting = assigned == 'a' ? next_signal(pipe_ends[0]) : 0;
    close(pipe_ends[0]);
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_EQ(assigned, 'a') << "the child delayer got no partitions";
    ASSERT_EQ(waiting, 'w') << "the child delayer never had the messages waiting";
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    EXPECT_LT(messages_in(brokers, target), 40) << "killed too late: every message was re-published already";

    // Same group: the restarted delayer resumes from the committed offsets once
    // the killed member's session expired.
    RunningDelayer restarted(options);
    ASSERT_TRUE(restarted.started());
    auto target_reader = reader_of(brokers, target);
    ASSERT_TRUE(target_reader);
    std::set<std::string> keys;
    ASSERT_TRUE(eventually([&] { return keys.size() == 40; },
                           [&] {
                               auto batch = target_reader->poll_batch(100, 200ms);
                               ASSERT_TRUE(batch) << batch.error();
                               for (const auto& message : batch.value())
                                   keys.insert(message.key.value_or(""));
                           },
                           90s))
        << keys.size() << " of 40 delay messages re-published";
}

}  // namespace
}  // namespace indexer::delayer
