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
    static Result<std::unique_ptr<Producer>> create(const ClientOptions& options);

    // Waits (up to 30 s) for the messages still in flight, then closes. Messages
    // still undelivered then are logged as lost.
    ~Producer();
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    // Queues a message. Fails at once when librdkafka refuses it (larger than
    // message.max.bytes, unknown partition, fatal producer error); waits while
    // the local queue is full.
    Result<DeliveryTicket> produce(const OutgoingMessage& message);

    // Serves delivery reports until every queued message has one or `timeout`
    // passed; returns the failures received and how many are still pending.
    // Call it again with a short timeout to interleave other work (polling a
    // consumer) while waiting.
    DeliveryReport await_deliveries(std::chrono::milliseconds timeout);

    // Produces every message and waits for all of them: one Status per message,
    // in order. A message not acknowledged within `timeout` counts as failed
    // (it may still arrive later: at-least-once).
    std::vector<Status> send(const std::vector<OutgoingMessage>& messages, std::chrono::milliseconds timeout);

    std::size_t in_flight() const;

    class Impl;

private:
    explicit Producer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::kafka
