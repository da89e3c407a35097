// Sends the announcement messages of ids (announcement.hpp) through one
// idempotent producer and keeps the tally: how many were acknowledged, which
// failed and why. Streaming: queue() any number of ids, collect() delivery
// reports as you go; memory stays bounded by the messages in flight.
//
// Threading: one thread at a time, like the Producer it uses.
#pragma once

#include <indexer/kafka/message_id.hpp>
#include <indexer/kafka/producer.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace indexer::publish {

struct Targets {
    std::string topic;                      // instant messages
    std::vector<std::string> delay_topics;  // delay messages, one per topic; empty: none
    std::string id_field = "id";            // the JSON field carrying the id
};

enum class Stage { delay, instant };

// How long a message may take to be acknowledged: librdkafka's
// message.timeout.ms when `options` sets it, else `fallback`, which is then set
// there, so that librdkafka itself fails a late message and says why.
std::chrono::milliseconds apply_delivery_timeout(kafka::ClientOptions& options,
                                                 std::chrono::milliseconds fallback);

struct Failure {
    std::string id;  // the id's text (also the message key)
    std::string topic;
    std::string reason;
};

class Announcer {
public:
    Announcer(kafka::Producer& producer, Targets targets);

    const Targets& targets() const noexcept { return targets_; }
    // Messages queued per id and stage: one per delay topic, or one instant message.
    std::size_t messages_per_id(Stage stage) const noexcept;

    // Queues the messages of `id` for `stage`. An id that cannot be sent
    // (check_id) or a message librdkafka refuses becomes a failure at once.
    // `created_at` (seconds since the epoch) goes into delay messages.
    void queue(const kafka::MessageId& id, Stage stage, std::int64_t created_at);

    // Serves delivery reports for up to `timeout` or until nothing is in
    // flight; returns the failures since the previous call.
    std::vector<Failure> collect(std::chrono::milliseconds timeout);

    std::uint64_t queued() const noexcept { return queued_; }
    // Messages acknowledged by Kafka, as of the last collect().
    std::uint64_t acknowledged() const noexcept { return acknowledged_; }
    std::uint64_t failed() const noexcept { return failed_; }
    std::size_t in_flight() const;

private:
    void fail(const std::string& id, const std::string& topic, std::string reason);

    kafka::Producer& producer_;
    Targets targets_;
    std::uint64_t queued_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t acknowledged_ = 0;
    std::vector<Failure> failures_;  // not yet returned by collect()
};

}  // namespace indexer::publish
