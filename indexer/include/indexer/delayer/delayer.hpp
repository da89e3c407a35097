// The delayer (DESIGN.md §1): consumes a delay topic as its own consumer group
// and re-publishes each message to the target topic once the message's time
// plus `delay` has passed (delay_message.hpp says what "time" and "message"
// mean per format).
//
// Waiting never costs the group membership: a partition whose oldest waiting
// message is not due yet is paused, and the consumer keeps polling (at least
// every 500 ms) until it is. Messages are re-published in offset order per
// partition, so a message waits for those before it ("head of line").
//
// At-least-once: offsets are committed only after the re-published messages
// were acknowledged (idempotent producer, acks=all). A crash re-publishes the
// uncommitted tail; duplicates are harmless because the indexer reloads the
// truth.
//
// Keys and headers are preserved. When the target topic has as many
// partitions as the delay topic (checked when run() starts), a message goes to
// the partition of the same number, i.e. where the application's own
// partitioner put that key; otherwise the producer's partitioner hashes the
// key (set kafka property `partitioner`, e.g. murmur2_random to match Java
// clients).
#pragma once

#include <indexer/kafka/message.hpp>
#include <indexer/util/status.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace indexer::delayer {

struct DelayerOptions {
    std::string name;   // the consumer group id
    std::string topic;  // the delay topic
    std::string target_topic;
    std::chrono::milliseconds delay{std::chrono::minutes(5)};
    // Broken delay wrappers go here; without one they are passed through.
    std::optional<std::string> dead_letter_topic;
    kafka::ClientOptions kafka;
    // A message time further ahead of the local clock counts as "now".
    std::chrono::milliseconds future_tolerance{std::chrono::minutes(1)};
    // A partition with this many waiting messages is paused even if its head
    // is due (bounds memory while publishing catches up).
    std::size_t max_waiting_per_partition = 10'000;
};

struct DelayerStats {
    std::size_t waiting = 0;  // consumed, not yet re-published
    // Until the oldest waiting message of some partition is due; nullopt when
    // nothing waits, 0 when something is due now.
    std::optional<double> seconds_until_next_due;
    std::uint64_t republished = 0;            // acknowledged on the target topic
    std::uint64_t dead_lettered = 0;          // broken wrappers, acknowledged on the dead-letter topic
    std::uint64_t broken_passed_through = 0;  // broken wrappers re-published unchanged
    std::uint64_t future_times = 0;           // message times replaced by "now" (clock skew)
    std::uint64_t publish_failures = 0;       // deliveries that failed and are retried
    std::uint64_t publish_refused = 0;        // refused for good (too large, invalid topic, not authorized)
    std::uint64_t lost = 0;                   // neither re-published nor dead-lettered: logged, skipped
    std::uint64_t assignments = 0;            // rebalances that gave this member partitions
    std::uint64_t revocations = 0;            // rebalances that took partitions away
};

class Delayer {
public:
    // Validates the options and creates the Kafka clients (no waiting for the
    // broker). Errors name what is wrong.
    static Result<std::unique_ptr<Delayer>> create(DelayerOptions options);
    ~Delayer();
    Delayer(const Delayer&) = delete;
    Delayer& operator=(const Delayer&) = delete;

    // Runs until stop(): re-publishes due messages, commits what was
    // acknowledged, then leaves the group. Returns an error only when Kafka
    // fails fatally. Call once.
    Status run();

    // Asks run() to return, from any thread or a signal handler (it only stores
    // to a lock-free atomic). run() notices within about half a second, waits up
    // to 10 s for the deliveries in flight and commits them.
    void stop() noexcept;

    // A snapshot, from any thread.
    DelayerStats stats() const;

    const DelayerOptions& options() const;

    class Impl;

private:
    explicit Delayer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::delayer
