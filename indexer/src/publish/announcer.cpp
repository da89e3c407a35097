#include <indexer/publish/announcement.hpp>
#include <indexer/publish/announcer.hpp>

#include <charconv>
#include <system_error>
#include <utility>

namespace indexer::publish {

std::chrono::milliseconds apply_delivery_timeout(kafka::ClientOptions& options,
                                                 std::chrono::milliseconds fallback) {
    if (const auto found = options.properties.find("message.timeout.ms"); found != options.properties.end()) {
        std::int64_t milliseconds = 0;
        const std::string& text = found->second;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), milliseconds);
        // librdkafka refuses a value that is not a number when the producer is created.
        if (error == std::errc{} && end == text.data() + text.size() && milliseconds > 0) {
            return std::chrono::milliseconds(milliseconds);
        }
        return fallback;
    }
    options.properties["message.timeout.ms"] = std::to_string(fallback.count());
    return fallback;
}

Announcer::Announcer(kafka::Producer& producer, Targets targets)
    : producer_(producer), targets_(std::move(targets)) {}

std::size_t Announcer::messages_per_id(Stage stage) const noexcept {
    return stage == Stage::delay ? targets_.delay_topics.size() : 1;
}

void Announcer::queue(const kafka::MessageId& id, Stage stage, std::int64_t created_at) {
    const std::size_t count = messages_per_id(stage);
    const auto topic = [&](std::size_t i) -> const std::string& {
        return stage == Stage::delay ? targets_.delay_topics[i] : targets_.topic;
    };
    queued_ += count;
    if (const Status valid = check_id(id); !valid) {
        for (std::size_t i = 0; i < count; ++i) fail(id.text, topic(i), valid.message());
        return;
    }
    kafka::OutgoingMessage message;
    message.key = id.text;
    message.value = stage == Stage::delay ? delay_value(id, targets_.id_field, created_at)
                                          : instant_value(id, targets_.id_field);
    for (std::size_t i = 0; i < count; ++i) {
        message.topic = topic(i);
        if (auto ticket = producer_.produce(message); !ticket) fail(id.text, message.topic, ticket.error());
    }
}

void Announcer::fail(const std::string& id, const std::string& topic, std::string reason) {
    ++failed_;
    failures_.push_back({id, topic, std::move(reason)});
}

std::vector<Failure> Announcer::collect(std::chrono::milliseconds timeout) {
    kafka::DeliveryReport report = producer_.await_deliveries(timeout);
    for (auto& failure : report.failed) {
        fail(failure.key.value_or(""), failure.topic, std::move(failure.error));
    }
    acknowledged_ = queued_ - failed_ - report.pending;
    return std::exchange(failures_, {});
}

std::size_t Announcer::in_flight() const {
    return producer_.in_flight();
}

}  // namespace indexer::publish
