// A dead letter as `indexer dead-letters` reads it back from a dead-letter
// topic: the original message (key, value, headers) and the indexer.* headers
// saying why and where from (kafka/dead_letter.hpp writes them).
#pragma once

#include <indexer/kafka/message.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::dead_letters {

struct Letter {
    // Where the letter itself sits in the dead-letter topic.
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::optional<std::string> key;
    std::optional<std::string> value;
    // The original message's headers, without the indexer.* dead-letter headers.
    kafka::Headers original_headers;
    // From the indexer.* headers; empty (or nullopt) when absent.
    std::string pipeline;
    std::string stage;
    std::string reason;
    std::string source_topic;
    std::optional<std::int32_t> source_partition;
    std::optional<std::int64_t> source_offset;
    // The parts of the original left out of the copy ("value", "key",
    // "headers"): such a letter cannot be replayed faithfully.
    std::vector<std::string> left_out;

    bool replayable() const { return left_out.empty(); }
};

// Splits a consumed dead-letter message into the original and the indexer's
// headers (the last one of a repeated key counts, as when it was written).
Letter read_letter(kafka::Message message);

// The original message again, for `topic`: its key, value and headers. No
// partition: the producer's partitioner places it by its key, as the
// application's message was placed.
kafka::OutgoingMessage replay_message(const Letter& letter, const std::string& topic);

// Whether `key` is one of the headers the indexer adds to a dead letter.
bool is_dead_letter_header(std::string_view key);

}  // namespace indexer::dead_letters
