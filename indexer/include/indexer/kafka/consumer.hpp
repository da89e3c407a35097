// A consumer group member for one pipeline (or delayer): polls batches, commits
// explicitly, pauses without leaving the group, and tells its owner about
// rebalances before they complete.
//
// Threading: one thread uses a Consumer; the rebalance hooks run on that thread,
// inside poll_batch() or close().
//
// Rebalancing is eager by default: at a rebalance every member's partitions are
// revoked (the hook runs for all of them) and then assigned anew. Cooperative
// rebalancing (partition.assignment.strategy=cooperative-sticky, handled with
// incremental assign/unassign) would move only the partitions that change
// owner, but Debian's librdkafka 2.0.2 can hang or abort when such a consumer
// closes during a rebalance (upstream issues #4527 and #4312, fixed in later
// releases); rebalances are rare for the indexer (deploys, scaling), so the
// extra churn of eager is the safer price. Both protocols work when chosen in
// the properties; close() of a cooperative consumer first unsubscribes and
// waits for the revocation, the upstream workaround for the hang.
//
// Pausing keeps what was fetched: every message poll_batch() returned stays
// with the caller, which finishes it. librdkafka discards what it prefetched
// for a paused partition and, on resume, fetches again from the offset after
// the last message it handed out, so consumption restarts at the first message
// the caller has not received: nothing is lost or skipped. A message that still
// arrives for a paused partition is held by the Consumer and returned first
// after resume.
#pragma once

#include <indexer/kafka/message.hpp>
#include <indexer/util/status.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace indexer::kafka {

struct ConsumerOptions {
    ClientOptions client;
    std::string group_id;  // the pipeline's name
    std::string topic;
    std::size_t max_messages = 500;            // default batch bound
    std::chrono::milliseconds max_wait{1000};  // default batch bound
};

struct RebalanceHooks {
    // After partitions were added to the assignment.
    std::function<void(const std::vector<TopicPartition>&)> on_assigned;
    // Before the revocation of `partitions` completes: finish the in-flight work
    // of those partitions (commit() is still accepted for them here) or drop
    // it. `lost` is true when the group already gave them to another member
    // (session timed out): committing them is refused then, only dropping is
    // possible.
    std::function<void(const std::vector<TopicPartition>& partitions, bool lost)> on_revoked;
};

class Consumer {
public:
    // Connects and subscribes to options.topic. Errors: invalid properties
    // (named), or librdkafka refusing to start.
    static Result<std::unique_ptr<Consumer>> create(ConsumerOptions options, RebalanceHooks hooks = {});

    ~Consumer();  // close()s if not yet closed
    Consumer(const Consumer&) = delete;
    Consumer& operator=(const Consumer&) = delete;

    // Returns when `max_messages` messages were received or `max_wait` passed,
    // whichever comes first (or, with `max_bytes`, once the keys and values
    // received hold that many bytes; with `until_drained`, as soon as it has
    // messages and no more are waiting in the local queue); possibly with none. Keeps the group membership
    // alive (call it regularly, also while paused). Transient broker errors are
    // logged and retried by librdkafka; an error is returned only for a fatal
    // consumer error.
    Result<std::vector<Message>> poll_batch();
    Result<std::vector<Message>> poll_batch(std::size_t max_messages, std::chrono::milliseconds max_wait,
                                            std::size_t max_bytes = std::numeric_limits<std::size_t>::max(),
                                            bool until_drained = false);

    // Synchronously commits, for each partition, the offset of the next message
    // to read (highest processed offset + 1; see next_offsets()). Refused as a
    // whole, nothing committed, when a partition is not assigned to this
    // consumer (any more): the error names it.
    Status commit(const std::map<TopicPartition, std::int64_t>& next_offsets);
    Status commit(const std::vector<Message>& processed) { return commit(next_offsets(processed)); }

    // Pause or resume fetching; the consumer stays in its group as long as
    // poll_batch() keeps being called. Without arguments: every assigned
    // partition, including ones assigned later until resume(). Partitions not
    // assigned are ignored.
    Status pause();
    Status pause(const std::vector<TopicPartition>& partitions);
    Status resume();
    Status resume(const std::vector<TopicPartition>& partitions);

    std::vector<TopicPartition> assignment() const;
    std::vector<TopicPartition> paused() const;
    bool owns(const TopicPartition& partition) const;

    // Leaves the group: the revoke hook runs for the partitions held, then the
    // partitions are handed over without waiting for the session timeout.
    Status close();

    const ConsumerOptions& options() const;

    class Impl;

private:
    explicit Consumer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::kafka
