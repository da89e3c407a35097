// What a message on a delay topic asks for: which value to re-publish, and from
// which moment the delay counts. Pure, so that every format and every odd case
// is unit-tested.
//
//   {"payload": {...}, "created_at": <epoch seconds>}   KafkaSync's delay wrapper:
//       the payload object is re-published byte for byte as it is written in
//       the wrapper, the delay counts from created_at (integer or fractional
//       seconds).
//   anything else                                        a plain delay message:
//       re-published unchanged, the delay counts from its Kafka timestamp.
//
// A JSON object with a "payload" or a "created_at" field is taken to be meant
// as a wrapper; when the other field is missing, the payload is not an object,
// or created_at is not a number of seconds a 64-bit count holds (a string,
// negative, 1e400, beyond 2^63), it is a broken wrapper: the Delayer dead-letters it when it has
// a dead-letter topic, else passes it through unchanged like a plain message.
//
// Clock skew: a time more than `future_tolerance` ahead of the local clock
// (created_at or the Kafka timestamp) is replaced by the moment the message
// was seen, so that the message is re-published `delay` after it was seen
// instead of waiting for a time that may be hours away. This also catches
// created_at written in milliseconds, and Kafka timestamps past what the
// clock can represent (kafka::time_from_timestamp clamps them).
//
// Never throws and never recurses on the value's nesting.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace indexer::delayer {

using Clock = std::chrono::system_clock;

enum class DelayFormat { wrapper, plain, broken_wrapper };

struct DelayPlan {
    DelayFormat format = DelayFormat::plain;
    // The message's time; the delay counts from here.
    Clock::time_point time;
    // What to re-publish to the target topic.
    std::optional<std::string> value;
    // The message's time was too far in the future and was replaced by seen_at.
    bool time_from_future = false;
    // Why a broken wrapper is broken.
    std::string problem;
};

DelayPlan plan_delay(const std::optional<std::string>& value,
                     std::optional<Clock::time_point> kafka_timestamp, Clock::time_point seen_at,
                     std::chrono::milliseconds future_tolerance);

}  // namespace indexer::delayer
