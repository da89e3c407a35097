// Dead-lettering: a message the indexer cannot process is copied, key and value
// unchanged, to the pipeline's dead-letter topic with headers saying why and
// where it came from. Never silently lost, never blocking the pipeline:
//  * the reason is capped at max_reason_bytes (cut on a UTF-8 boundary, saying so);
//  * a copy that would not fit the producer's message.max.bytes leaves out the
//    value (header indexer.value.truncated: the value's size), then the
//    original headers and the key (indexer.headers.truncated, indexer.key.truncated);
//  * a copy the broker refuses for good (too large for the topic, invalid topic,
//    not authorized) is sent again without value, key and original headers;
//    if even that is refused for good, it is logged as an error with the
//    message's coordinates and counted (lost()), and publish() succeeds: a
//    retry could never succeed and would stall the partition.
#pragma once

#include <indexer/kafka/message.hpp>
#include <indexer/kafka/producer.hpp>
#include <indexer/util/status.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::kafka {

namespace dead_letter_header {
inline constexpr std::string_view reason = "indexer.reason";
inline constexpr std::string_view source_topic = "indexer.source.topic";
inline constexpr std::string_view source_partition = "indexer.source.partition";
inline constexpr std::string_view source_offset = "indexer.source.offset";
inline constexpr std::string_view pipeline = "indexer.pipeline";
inline constexpr std::string_view stage = "indexer.stage";
// Present when that part of the original was left out; the value is its size in bytes.
inline constexpr std::string_view value_truncated = "indexer.value.truncated";
inline constexpr std::string_view key_truncated = "indexer.key.truncated";
inline constexpr std::string_view headers_truncated = "indexer.headers.truncated";
}  // namespace dead_letter_header

inline constexpr std::size_t max_reason_bytes = 1024;
inline constexpr std::size_t default_max_message_bytes = 1'000'000;  // namespace dead_letter_header

// Where in the flow a message was given up on (the indexer.stage header).
namespace dead_letter_stage {
inline constexpr std::string_view parse = "parse";                  // no id could be read
inline constexpr std::string_view id_type = "id-type";              // the id column cannot hold the id
inline constexpr std::string_view sink_reject = "sink-reject";      // the sink refused the document
inline constexpr std::string_view delay_wrapper = "delay-wrapper";  // broken KafkaSync delay wrapper
inline constexpr std::string_view republish = "republish";          // the target topic refused it for good
}  // namespace dead_letter_stage

// The dead-letter copy of `original`: its key and value, the original headers
// first and then the indexer.* headers (so that a consumer taking the last
// header of a key sees ours even if the message had been dead-lettered before).
// Parts of the original are left out as far as needed to fit `max_message_bytes`.
OutgoingMessage make_dead_letter(const Message& original, std::string_view dead_letter_topic,
                                 std::string_view pipeline, std::string_view stage, std::string_view reason,
                                 std::size_t max_message_bytes = default_max_message_bytes);

// The same dead letter with only the indexer.* headers: what is sent when the
// broker refused the full copy for good.
OutgoingMessage make_bare_dead_letter(const Message& original, std::string_view dead_letter_topic,
                                      std::string_view pipeline, std::string_view stage,
                                      std::string_view reason);

struct DeadLetter {
    const Message* original = nullptr;
    std::string stage;
    std::string reason;
};

class DeadLetterPublisher {
public:
    // `producer` must outlive the publisher.
    DeadLetterPublisher(Producer& producer, std::string topic, std::string pipeline);

    // Produces the dead-letter copies and waits until all are acknowledged (or
    // `timeout`); an error names the messages that were not, and then the
    // caller must not commit their offsets. Waits for the producer's other
    // in-flight messages too.
    Status publish(const std::vector<DeadLetter>& letters,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));
    Status publish(const Message& original, std::string_view stage, std::string_view reason,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

    const std::string& topic() const { return topic_; }
    // Dead letters the broker refused for good even without their value:
    // logged, never published. Not reset.
    std::uint64_t lost() const { return lost_; }

private:
    Producer& producer_;
    std::string topic_;
    std::string pipeline_;
    std::uint64_t lost_ = 0;
};

}  // namespace indexer::kafka
