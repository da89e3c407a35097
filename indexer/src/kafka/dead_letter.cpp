#include <indexer/kafka/dead_letter.hpp>

#include <spdlog/spdlog.h>

namespace indexer::kafka {

OutgoingMessage make_dead_letter(const Message& original, std::string_view dead_letter_topic,
                                 std::string_view pipeline, std::string_view stage, std::string_view reason) {
    OutgoingMessage letter;
    letter.topic = std::string(dead_letter_topic);
    letter.key = original.key;
    letter.value = original.value;
    letter.headers = original.headers;
    const auto add = [&letter](std::string_view key, std::string value) {
        letter.headers.push_back({std::string(key), std::move(value)});
    };
    add(dead_letter_header::reason, std::string(reason));
    add(dead_letter_header::source_topic, original.topic);
    add(dead_letter_header::source_partition, std::to_string(original.partition));
    add(dead_letter_header::source_offset, std::to_string(original.offset));
    add(dead_letter_header::pipeline, std::string(pipeline));
    add(dead_letter_header::stage, std::string(stage));
    return letter;
}

DeadLetterPublisher::DeadLetterPublisher(Producer& producer, std::string topic, std::string pipeline)
    : producer_(producer), topic_(std::move(topic)), pipeline_(std::move(pipeline)) {}

Status DeadLetterPublisher::publish(const std::vector<DeadLetter>& letters,
                                    std::chrono::milliseconds timeout) {
    std::vector<OutgoingMessage> messages;
    messages.reserve(letters.size());
    for (const auto& letter : letters) {
        messages.push_back(
            make_dead_letter(*letter.original, topic_, pipeline_, letter.stage, letter.reason));
    }
    const std::vector<Status> results = producer_.send(messages, timeout);
    std::string failures;
    std::size_t failed = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const Message& original = *letters[i].original;
        if (results[i]) {
            spdlog::warn("pipeline {}: {}[{}]@{} dead-lettered to {} ({}): {}", pipeline_, original.topic,
                         original.partition, original.offset, topic_, letters[i].stage, letters[i].reason);
            continue;
        }
        if (failed++ < 3) {
            failures += (failures.empty() ? "" : "; ") + original.topic + "[" +
                        std::to_string(original.partition) + "]@" + std::to_string(original.offset) + ": " +
                        results[i].message();
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
