#include <indexer/kafka/dead_letter.hpp>

#include <indexer/util/text.hpp>

#include <spdlog/spdlog.h>

namespace indexer::kafka {
namespace {

// Room for the record's framing (lengths, timestamp, CRC, batch header): the
// broker counts the whole batch against its limit.
constexpr std::size_t record_overhead = 512;

std::size_t size_of(const Headers& headers) {
    std::size_t size = 0;
    for (const auto& header : headers)
        size += header.key.size() + (header.value ? header.value->size() : 0) + 8;
    return size;
}

std::size_t size_of(const OutgoingMessage& message) {
    return record_overhead + (message.key ? message.key->size() : 0) +
           (message.value ? message.value->size() : 0) + size_of(message.headers);
}

Headers indexer_headers(const Message& original, std::string_view pipeline, std::string_view stage,
                        std::string_view reason) {
    return {
        {std::string(dead_letter_header::reason), excerpt(reason, max_reason_bytes)},
        {std::string(dead_letter_header::source_topic), original.topic},
        {std::string(dead_letter_header::source_partition), std::to_string(original.partition)},
        {std::string(dead_letter_header::source_offset), std::to_string(original.offset)},
        {std::string(dead_letter_header::pipeline), std::string(pipeline)},
        {std::string(dead_letter_header::stage), std::string(stage)},
    };
}

std::string coordinates(const Message& message) {
    return message.topic + "[" + std::to_string(message.partition) + "]@" + std::to_string(message.offset);
}

}  // namespace

OutgoingMessage make_dead_letter(const Message& original, std::string_view dead_letter_topic,
                                 std::string_view pipeline, std::string_view stage, std::string_view reason,
                                 std::size_t max_message_bytes) {
    OutgoingMessage letter;
    letter.topic = std::string(dead_letter_topic);
    letter.key = original.key;
    letter.value = original.value;
    letter.headers = original.headers;
    Headers own = indexer_headers(original, pipeline, stage, reason);
    // What the headers saying "left out" add at most.
    const std::size_t notes = std::size_t{3} * 48;
    const auto fits = [&] { return size_of(letter) + size_of(own) + notes <= max_message_bytes; };
    Headers truncated;
    if (!fits() && letter.value) {
        truncated.push_back(
            {std::string(dead_letter_header::value_truncated), std::to_string(letter.value->size())});
        letter.value.reset();
    }
    if (!fits() && !letter.headers.empty()) {
        truncated.push_back(
            {std::string(dead_letter_header::headers_truncated), std::to_string(size_of(letter.headers))});
        letter.headers.clear();
    }
    if (!fits() && letter.key) {
        truncated.push_back(
            {std::string(dead_letter_header::key_truncated), std::to_string(letter.key->size())});
        letter.key.reset();
    }
    letter.headers.insert(letter.headers.end(), own.begin(), own.end());
    letter.headers.insert(letter.headers.end(), truncated.begin(), truncated.end());
    return letter;
}

OutgoingMessage make_bare_dead_letter(const Message& original, std::string_view dead_letter_topic,
                                      std::string_view pipeline, std::string_view stage,
                                      std::string_view reason) {
    OutgoingMessage letter;
    letter.topic = std::string(dead_letter_topic);
    letter.headers = indexer_headers(original, pipeline, stage, reason);
    const auto note = [&letter](std::string_view header, const std::optional<std::string>& part) {
        if (part) letter.headers.push_back({std::string(header), std::to_string(part->size())});
    };
    note(dead_letter_header::value_truncated, original.value);
    note(dead_letter_header::key_truncated, original.key);
    if (!original.headers.empty()) {
        letter.headers.push_back(
            {std::string(dead_letter_header::headers_truncated), std::to_string(size_of(original.headers))});
    }
    return letter;
}

DeadLetterPublisher::DeadLetterPublisher(Producer& producer, std::string topic, std::string pipeline)
    : producer_(producer), topic_(std::move(topic)), pipeline_(std::move(pipeline)) {}

Status DeadLetterPublisher::publish(const std::vector<DeadLetter>& letters,
                                    std::chrono::milliseconds timeout) {
    std::vector<OutgoingMessage> messages;
    messages.reserve(letters.size());
    for (const auto& letter : letters) {
        messages.push_back(make_dead_letter(*letter.original, topic_, pipeline_, letter.stage, letter.reason,
                                            producer_.max_message_bytes()));
    }
    std::vector<Status> results = producer_.send(messages, timeout);

    // Refused for good: once more with nothing but our headers.
    std::vector<std::size_t> refused;
    std::vector<OutgoingMessage> bare;
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (results[i] || results[i].is_retryable()) continue;
        spdlog::error(
            "pipeline {}: the dead letter of {} was refused ({}); sending it without key, value and headers",
            pipeline_, coordinates(*letters[i].original), results[i].message());
        refused.push_back(i);
        bare.push_back(make_bare_dead_letter(*letters[i].original, topic_, pipeline_, letters[i].stage,
                                             letters[i].reason));
    }
    if (!bare.empty()) {
        const std::vector<Status> retried = producer_.send(bare, timeout);
        for (std::size_t j = 0; j < refused.size(); ++j) {
            const std::size_t i = refused[j];
            results[i] = retried[j];
            if (retried[j] || retried[j].is_retryable()) continue;
            // A retry cannot succeed; holding the partition for it would stall the pipeline for good.
            ++lost_;
            spdlog::error(
                "pipeline {}: DEAD LETTER LOST: {} ({}: {}) could not be written to {} even without its "
                "value: {}",
                pipeline_, coordinates(*letters[i].original), letters[i].stage,
                excerpt(letters[i].reason, max_reason_bytes), topic_, retried[j].message());
            results[i] = Status::ok();
        }
    }

    std::string failures;
    std::size_t failed = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const Message& original = *letters[i].original;
        if (results[i]) {
            spdlog::warn("pipeline {}: {} dead-lettered to {} ({}): {}", pipeline_, coordinates(original),
                         topic_, letters[i].stage, excerpt(letters[i].reason, max_reason_bytes));
            continue;
        }
        if (failed++ < 3) {
            failures += (failures.empty() ? "" : "; ") + coordinates(original) + ": " + results[i].message();
        }
    }
    if (failed == 0) return Status::ok();
    return Status::retryable_error("pipeline " + pipeline_ + ": " + std::to_string(failed) + " of " +
                                   std::to_string(results.size()) + " dead-letter message(s) to " + topic_ +
                                   " not acknowledged: " + failures + (failed > 3 ? "; ..." : ""));
}

Status DeadLetterPublisher::publish(const Message& original, std::string_view stage, std::string_view reason,
                                    std::chrono::milliseconds timeout) {
    return publish({DeadLetter{&original, std::string(stage), std::string(reason)}}, timeout);
}

}  // namespace indexer::kafka
