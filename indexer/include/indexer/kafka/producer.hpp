// An idempotent producer (enable.idempotence=true, acks=all) that says which
// messages failed, so that a caller commits its input only once every message
// it produced was acknowledged.
//
// Threading: one thread uses a Producer at a time (give each pipeline its own).
#pragma once

#include <indexer/kafka/message.hpp>
#include <indexer/util/status.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace indexer::kafka {

// Identifies one produce() call in the delivery reports.
using DeliveryTicket = std::uint64_t;

struct DeliveryFailure {
    DeliveryTicket ticket = 0;
    std::string topic;
    std::optional<std::string> key;
    std::string error;  // librdkafka's reason, e.g. "Broker: Message size too large"
    // Sending the same message again cannot succeed (too large, invalid topic,
    // not authorized): see is_permanent_failure.
    bool permanent = false;
};

struct DeliveryReport {
    // Messages whose delivery failed since the previous report. A failed
    // message is not retried: produce it again if it must arrive.
    std::vector<DeliveryFailure> failed;
    // Messages still waiting for their delivery report when the wait ended.
    std::size_t pending = 0;

    bool all_acknowledged() const { return failed.empty() && pending == 0; }
};

class Producer {
public:
    // The largest message this producer sends (its message.max.bytes, 1 000 000
    // unless configured); a larger one fails at produce().
    std::size_t max_message_bytes() const;

    // For tests: puts the producer in librdkafka's fatal state (what an
    // idempotent producer does when it loses its sequence), so that the
    // rebuild is tested without a misbehaving broker.
    void simulate_fatal_error_for_test();

    static Result<std::unique_ptr<Producer>> create(const ClientOptions& options);

    // Waits (up to 30 s) for the messages still in flight, then closes. Messages
    // still undelivered then are logged as lost.
    ~Producer();
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    // Queues a message. Fails at once when librdkafka refuses it (larger than
    // message.max.bytes, unknown partition); waits while the local queue is
    // full. A producer in librdkafka's fatal state cannot send again: it is
    // rebuilt here (its messages in flight are reported failed, retryable).
    // A failure that sending again cannot cure is a non-retryable Status.
    Result<DeliveryTicket> produce(const OutgoingMessage& message);

    // Serves delivery reports until every queued message has one or `timeout`
    // passed; returns the failures received and how many are still pending.
    // Call it again with a short timeout to interleave other work (polling a
    // consumer) while waiting.
    DeliveryReport await_deliveries(std::chrono::milliseconds timeout);

    // Produces every message and waits for all of them: one Status per message,
    // in order. A message not acknowledged within `timeout` counts as failed
    // (it may still arrive later: at-least-once). A failed message's Status is
    // retryable unless the failure is permanent.
    std::vector<Status> send(const std::vector<OutgoingMessage>& messages, std::chrono::milliseconds timeout);

    std::size_t in_flight() const;

    class Impl;

private:
    explicit Producer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::kafka
