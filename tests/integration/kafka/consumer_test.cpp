// The consumer wrapper against the real broker: batch bounds, commits that a
// new member resumes from, pausing without leaving the group, rebalances.
#include "kafka_fixture.hpp"

#include <indexer/kafka/consumer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace indexer::kafka {
namespace {

using indexer::testing::create_test_topic;
using indexer::testing::eventually;
using indexer::testing::kafka_client;
using indexer::testing::make_consumer;
using indexer::testing::poll_messages;
using indexer::testing::produce_all;
using indexer::testing::text_message;
using namespace std::chrono_literals;

std::vector<OutgoingMessage> numbered(const std::string& topic, int from, int count) {
    std::vector<OutgoingMessage> messages;
    for (int i = from; i < from + count; ++i) {
        messages.push_back(text_message(topic, std::to_string(i), R"({"id": )" + std::to_string(i) + "}"));
    }
    return messages;
}

std::vector<std::int64_t> offsets_of(const std::vector<Message>& messages) {
    std::vector<std::int64_t> offsets;
    for (const auto& message : messages) offsets.push_back(message.offset);
    return offsets;
}

std::vector<std::int64_t> range(std::int64_t from, std::int64_t to) {
    std::vector<std::int64_t> values;
    for (auto i = from; i < to; ++i) values.push_back(i);
    return values;
}

TEST(KafkaConsumer, BatchHoldsAtMostMaxMessages) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "batch_max", 1);
    produce_all(brokers, numbered(topic, 0, 25));
    auto consumer = make_consumer(brokers, topic, indexer::testing::unique_name("g"));
    ASSERT_TRUE(consumer);

    std::vector<std::size_t> sizes;
    std::vector<Message> received;
    ASSERT_TRUE(eventually([&] { return received.size() >= 25; },
                           [&] {
                               auto batch = consumer->poll_batch(10, 2s);
                               ASSERT_TRUE(batch) << batch.error();
                               if (batch->empty()) return;
                               sizes.push_back(batch->size());
                               received.insert(received.end(), batch->begin(), batch->end());
                           }));
    EXPECT_EQ(offsets_of(received), range(0, 25));
    EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()), 10U);
    EXPECT_EQ(std::count(sizes.begin(), sizes.end(), 10U), 2) << "batches of 10, 10 and 5 expected";
}

TEST(KafkaConsumer, BatchEndsAfterMaxWaitWithTheMessagesThereAre) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "batch_wait", 1);
    produce_all(brokers, numbered(topic, 0, 3));
    auto consumer = make_consumer(brokers, topic, indexer::testing::unique_name("g"));
    ASSERT_TRUE(consumer);

    // Returning at all with fewer than 1000 messages is the max_wait bound.
    std::vector<Message> received;
    ASSERT_TRUE(eventually([&] { return !received.empty(); },
                           [&] {
                               auto batch = consumer->poll_batch(1000, 1500ms);
                               ASSERT_TRUE(batch) << batch.error();
                               received = std::move(batch.value());
                           }));
    EXPECT_EQ(offsets_of(received), range(0, 3));
    auto empty = consumer->poll_batch(1000, 300ms);
    ASSERT_TRUE(empty) << empty.error();
    EXPECT_TRUE(empty->empty());
}

TEST(KafkaConsumer, NewMemberOfTheGroupResumesAfterTheCommittedOffset) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "commit", 1);
    const std::string group = indexer::testing::unique_name("g");
    produce_all(brokers, numbered(topic, 0, 10));
    {
        auto first = make_consumer(brokers, topic, group);
        ASSERT_TRUE(first);
        auto received = poll_messages(*first, 10);
        ASSERT_EQ(received.size(), 10U);
        received.resize(6);  // processed offsets 0..5 only
        const Status committed = first->commit(received);
        ASSERT_TRUE(committed) << committed.message();
        ASSERT_TRUE(first->close());
    }
    auto admin = Admin::create(kafka_client(brokers));
    ASSERT_TRUE(admin) << admin.error();
    auto offsets = admin.value()->offsets(topic, group, 10s);
    ASSERT_TRUE(offsets) << offsets.error();
    ASSERT_EQ(offsets->size(), 1U);
    EXPECT_EQ(offsets->at(0).committed, 6);
    EXPECT_EQ(offsets->at(0).high, 10);
    EXPECT_EQ(offsets->at(0).lag(), 4);

    auto second = make_consumer(brokers, topic, group);
    ASSERT_TRUE(second);
    const auto rest = poll_messages(*second, 4);
    EXPECT_EQ(offsets_of(rest), range(6, 10));
    auto nothing_more = second->poll_batch(100, 500ms);
    ASSERT_TRUE(nothing_more);
    EXPECT_TRUE(nothing_more->empty());
}

TEST(KafkaConsumer, PausedConsumerKeepsItsGroupAndResumesAtTheFirstMessageNotReceived) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "pause", 2);
    produce_all(brokers, numbered(topic, 0, 40));
    int assigned = 0;
    int revoked = 0;
    RebalanceHooks hooks{[&](const std::vector<TopicPartition>&) { ++assigned; },
                         [&](const std::vector<TopicPartition>&, bool) { ++revoked; }};
    // Short timeouts: the test polls while paused for longer than both.
    auto consumer = make_consumer(brokers, topic, indexer::testing::unique_name("g"), hooks,
                                  {{"session.timeout.ms", "6000"},
                                   {"max.poll.interval.ms", "7000"},
                                   {"heartbeat.interval.ms", "1000"}});
    ASSERT_TRUE(consumer);

    std::vector<Message> received = poll_messages(*consumer, 5);
    ASSERT_GE(received.size(), 5U);
    ASSERT_TRUE(consumer->pause());
    EXPECT_EQ(consumer->paused().size(), 2U);
    produce_all(brokers, numbered(topic, 40, 10));  // arrive while paused

    const auto paused_until = std::chrono::steady_clock::now() + 10s;
    std::size_t received_while_paused = 0;
    while (std::chrono::steady_clock::now() < paused_until) {
        auto batch = consumer->poll_batch(100, 500ms);
        ASSERT_TRUE(batch) << batch.error();
        received_while_paused += batch->size();
    }
    EXPECT_EQ(received_while_paused, 0U);

    ASSERT_TRUE(consumer->resume());
    const auto rest = poll_messages(*consumer, 50 - received.size());
    received.insert(received.end(), rest.begin(), rest.end());
    auto nothing_more = consumer->poll_batch(100, 500ms);
    ASSERT_TRUE(nothing_more);
    EXPECT_TRUE(nothing_more->empty());

    EXPECT_EQ(assigned, 1) << "the group rebalanced while paused";
    EXPECT_EQ(revoked, 0) << "the group rebalanced while paused";
    // Per partition: every offset once, in order, none skipped.
    std::map<std::int32_t, std::vector<std::int64_t>> by_partition;
    for (const auto& message : received) by_partition[message.partition].push_back(message.offset);
    std::size_t total = 0;
    for (const auto& [partition, offsets] : by_partition) {
        EXPECT_EQ(offsets, range(0, static_cast<std::int64_t>(offsets.size()))) << "partition " << partition;
        total += offsets.size();
    }
    EXPECT_EQ(total, 50U);
}

// Consumer `first` holds every partition of `topic`; a second member joins.
// Polls both until each has partitions; returns the second.
std::unique_ptr<Consumer> join_second_member(const std::string& brokers, const std::string& topic,
                                             const std::string& group, Consumer& first,
                                             const std::map<std::string, std::string>& properties = {}) {
    auto second = make_consumer(brokers, topic, group, {}, properties);
    if (!second) return nullptr;
    const bool shared = eventually(
        [&] {
            return !first.assignment().empty() && !second->assignment().empty() &&
                   first.assignment().size() + second->assignment().size() == 4;
        },
        [&] {
            EXPECT_TRUE(first.poll_batch(100, 100ms));
            EXPECT_TRUE(second->poll_batch(100, 100ms));
        });
    EXPECT_TRUE(shared) << "first has " << first.assignment().size() << ", second "
                        << second->assignment().size();
    return second;
}

// Eager rebalancing revokes every partition of the first member, cooperative
// only those that move: either way the moved ones are among the revoked, and
// the hook runs while they are still owned.
void expect_shared_partitions_with_revoke_hook_first(const std::string& brokers,
                                                     const std::map<std::string, std::string>& properties) {
    const std::string topic = create_test_topic(brokers, "share", 4);
    const std::string group = indexer::testing::unique_name("g");
    produce_all(brokers, numbered(topic, 0, 40));

    Consumer* first_consumer = nullptr;
    std::set<TopicPartition> revoked;
    bool owned_during_hook = true;
    Status commit_in_hook;
    RebalanceHooks hooks;
    hooks.on_revoked = [&](const std::vector<TopicPartition>& partitions, bool lost) {
        EXPECT_FALSE(lost);
        revoked.insert(partitions.begin(), partitions.end());
        std::map<TopicPartition, std::int64_t> offsets;
        for (const auto& partition : partitions) {
            owned_during_hook = owned_during_hook && first_consumer->owns(partition);
            offsets[partition] = 1;
        }
        // The in-flight work of these partitions may still be committed here.
        commit_in_hook = first_consumer->commit(offsets);
    };
    auto first = make_consumer(brokers, topic, group, hooks, properties);
    ASSERT_TRUE(first);
    first_consumer = first.get();
    ASSERT_TRUE(eventually([&] { return first->assignment().size() == 4; },
                           [&] { ASSERT_TRUE(first->poll_batch(100, 100ms)); }));

    auto second = join_second_member(brokers, topic, group, *first, properties);
    ASSERT_TRUE(second);
    const auto moved = second->assignment();
    ASSERT_FALSE(moved.empty());
    for (const auto& partition : moved) {
        EXPECT_TRUE(revoked.contains(partition)) << to_string(partition) << " moved without the revoke hook";
        EXPECT_FALSE(first->owns(partition));
    }
    EXPECT_TRUE(owned_during_hook);
    EXPECT_TRUE(commit_in_hook) << commit_in_hook.message();

    auto admin = Admin::create(kafka_client(brokers));
    ASSERT_TRUE(admin);
    auto offsets = admin.value()->offsets(topic, group, 10s);
    ASSERT_TRUE(offsets) << offsets.error();
    for (const auto& partition : offsets.value()) {
        if (revoked.contains({topic, partition.partition})) {
            EXPECT_EQ(partition.committed, 1);
        }
    }
    // Both leave at once: the second's departure rebalances the first while it
    // closes (the case that hangs librdkafka 2.0.2 without the workaround).
    second.reset();
    ASSERT_TRUE(first->close());
}

TEST(KafkaConsumer, TwoMembersShareThePartitionsAndTheFirstIsToldBeforeItsPartitionsAreRevoked) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    expect_shared_partitions_with_revoke_hook_first(brokers, {});
}

TEST(KafkaConsumer, CooperativeMembersShareThePartitionsAndCloseWithoutHanging) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    expect_shared_partitions_with_revoke_hook_first(
        brokers, {{"partition.assignment.strategy", "cooperative-sticky"}});
}

TEST(KafkaConsumer, RefusesToCommitForAPartitionNoLongerAssigned) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "refuse", 4);
    const std::string group = indexer::testing::unique_name("g");
    produce_all(brokers, numbered(topic, 0, 40));
    auto first = make_consumer(brokers, topic, group);
    ASSERT_TRUE(first);
    // Take every message of every partition before the second member joins.
    const auto received = poll_messages(*first, 40);
    ASSERT_EQ(received.size(), 40U);
    auto second = join_second_member(brokers, topic, group, *first);
    ASSERT_TRUE(second);

    const Status refused = first->commit(received);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.message().find("no longer assigned"), std::string::npos) << refused.message();
    for (const auto& partition : second->assignment()) {
        EXPECT_NE(refused.message().find(to_string(partition)), std::string::npos) << refused.message();
    }
    auto admin = Admin::create(kafka_client(brokers));
    ASSERT_TRUE(admin);
    auto offsets = admin.value()->offsets(topic, group, 10s);
    ASSERT_TRUE(offsets) << offsets.error();
    for (const auto& partition : offsets.value()) {
        EXPECT_FALSE(partition.committed) << "partition " << partition.partition << " committed";
    }

    // What the first still owns can be committed.
    std::vector<Message> own;
    std::copy_if(received.begin(), received.end(), std::back_inserter(own),
                 [&](const Message& message) { return first->owns(message.topic_partition()); });
    ASSERT_FALSE(own.empty());
    const Status committed = first->commit(own);
    EXPECT_TRUE(committed) << committed.message();
}

TEST(KafkaConsumer, ExposesKeyValueHeadersAndTimestamp) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "fields", 1);
    const auto before = std::chrono::system_clock::now() - 1s;
    produce_all(brokers, {text_message(topic, "k1", "v1", {{"h", "x"}, {"null", std::nullopt}}),
                          text_message(topic, std::nullopt, std::nullopt), text_message(topic, "", "")});
    auto consumer = make_consumer(brokers, topic, indexer::testing::unique_name("g"));
    ASSERT_TRUE(consumer);
    const auto received = poll_messages(*consumer, 3);
    ASSERT_EQ(received.size(), 3U);
    EXPECT_EQ(received[0].topic, topic);
    EXPECT_EQ(received[0].partition, 0);
    EXPECT_EQ(received[0].offset, 0);
    EXPECT_EQ(received[0].key, "k1");
    EXPECT_EQ(received[0].value, "v1");
    EXPECT_EQ(received[0].headers, (Headers{{"h", "x"}, {"null", std::nullopt}}));
    ASSERT_TRUE(received[0].timestamp);
    EXPECT_GE(*received[0].timestamp, before);
    EXPECT_FALSE(received[1].key);
    EXPECT_FALSE(received[1].value);
    EXPECT_TRUE(received[1].headers.empty());
    EXPECT_EQ(received[2].key, "");
    EXPECT_EQ(received[2].value, "");
}

TEST(KafkaConsumer, CloseCallsTheRevokeHookAndLeavesTheGroup) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = create_test_topic(brokers, "close", 2);
    const std::string group = indexer::testing::unique_name("g");
    produce_all(brokers, numbered(topic, 0, 4));
    std::vector<TopicPartition> revoked;
    RebalanceHooks hooks;
    hooks.on_revoked = [&](const std::vector<TopicPartition>& partitions, bool) {
        revoked.insert(revoked.end(), partitions.begin(), partitions.end());
    };
    auto first = make_consumer(brokers, topic, group, hooks);
    ASSERT_TRUE(first);
    ASSERT_EQ(poll_messages(*first, 4).size(), 4U);
    ASSERT_TRUE(first->close());
    EXPECT_EQ(revoked.size(), 2U);

    // Having left, its partitions go to a new member at once, not after the
    // session timeout (45 s by default, longer than this wait).
    auto second = make_consumer(brokers, topic, group);
    ASSERT_TRUE(second);
    EXPECT_TRUE(eventually([&] { return second->assignment().size() == 2; },
                           [&] { ASSERT_TRUE(second->poll_batch(100, 100ms)); }, 20s));
}

}  // namespace
}  // namespace indexer::kafka
