// Announcing changed rows to the indexer from a C++ application (DESIGN.md §1):
// for each id a delay message before the database transaction commits and an
// instant message after it, both keyed by the id.
//
//   indexer::client::PublisherOptions options;
//   options.brokers = "kafka:9092";
//   options.topic = "products";             // delay messages to products-delay
//   indexer::client::Publisher publisher(options);
//   publisher.bulk(ids, [&] {            // delay messages, acknowledged first
//       pqxx::work tx(connection);        // then the caller's update
//       tx.exec_params("UPDATE products SET price = $1 WHERE id = ANY($2::bigint[])", ...);
//       tx.commit();
//   });                                   // then the instant messages
//
// Messages are KafkaSync's: {"id": 42} on the topic and
// {"payload": {"id": 42}, "created_at": <epoch seconds>} on the delay topic.
// Integer ids are JSON numbers, other ids JSON strings. Kafka's idempotent
// producer (acks=all) sends them; every call waits until each of its messages
// is acknowledged or has failed, and says which failed.
//
// A Publisher may be shared by threads: calls are serialized.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#define INDEXER_CLIENT_API __attribute__((visibility("default")))

namespace indexer::client {

// Integer types, but not bool nor the character types.
template <class T>
concept IntegerId =
    std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> && !std::same_as<T, signed char> &&
    !std::same_as<T, unsigned char> && !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> &&
    !std::same_as<T, char16_t> && !std::same_as<T, char32_t>;

// A row's id: an integer (sent as a JSON number) or a text (a JSON string; it
// must be non-empty valid UTF-8). Converts implicitly: announce({1, 2, 3}),
// announce({"sku-1", "sku-2"}).
class Id {
public:
    template <IntegerId T>
    Id(T value) : text_(std::to_string(value)), integer_(true) {}  // NOLINT: implicit by design
    Id(std::string text) : text_(std::move(text)) {}               // NOLINT
    Id(std::string_view text) : text_(text) {}                     // NOLINT
    Id(const char* text) : text_(text) {}                          // NOLINT

    // The decimal digits of an integer, or the text; also the message key.
    const std::string& text() const noexcept { return text_; }
    bool is_integer() const noexcept { return integer_; }

private:
    std::string text_;
    bool integer_ = false;
};

struct PublisherOptions {
    std::string brokers;  // bootstrap.servers, "host:port,host:port"
    // Any librdkafka property (security.protocol, sasl.*, client.id, ...).
    // enable.idempotence and acks are always true and all.
    std::map<std::string, std::string> properties;
    std::string topic;        // instant messages: the topic the indexer's pipeline consumes
    std::string delay_topic;  // delay messages; empty: "<topic>-delay" (KafkaSync's name)
    std::string id_field = "id";
    // How long a message may take to be acknowledged before it counts as failed
    // (librdkafka's message.timeout.ms, unless that is in `properties`).
    std::chrono::milliseconds timeout{30'000};
};

struct Failure {
    std::string id;  // Id::text()
    std::string topic;
    std::string reason;  // e.g. "Local: Message timed out", "id is not valid UTF-8"
};

// The messages of one stage (delay or instant) of a call.
struct SendReport {
    std::size_t sent = 0;  // acknowledged by Kafka
    std::vector<Failure> failed;
    // Neither acknowledged nor failed when the call stopped waiting (rare: the
    // wait lasts longer than librdkafka's own message timeout).
    std::size_t unacknowledged = 0;

    bool ok() const noexcept { return failed.empty() && unacknowledged == 0; }
};

struct AnnounceReport {
    SendReport delay;
    SendReport instant;

    bool ok() const noexcept { return delay.ok() && instant.ok(); }
};

// Thrown by bulk() when a delay message was not acknowledged: the update was
// not run. Also thrown by the constructor when the options are invalid.
class INDEXER_CLIENT_API PublishError : public std::runtime_error {
public:
    explicit PublishError(const std::string& what, SendReport report = {});
    const SendReport& report() const noexcept { return report_; }

private:
    SendReport report_;
};

class INDEXER_CLIENT_API Publisher {
public:
    // Throws PublishError when the options are invalid (no brokers or topic, a
    // librdkafka property it refuses). Connects in the background.
    explicit Publisher(PublisherOptions options);
    ~Publisher();
    Publisher(Publisher&&) noexcept;
    Publisher& operator=(Publisher&&) noexcept;

    const std::string& topic() const noexcept;
    const std::string& delay_topic() const noexcept;

    // The delay messages of `ids`, then their instant messages; waits for both.
    // For a change already committed: the delay messages are the safety net
    // should the instant ones be lost.
    AnnounceReport announce(const std::vector<Id>& ids);

    // The bulk form: the delay messages of `ids`, waited for; then `update()`
    // (the caller's database transaction); then, only if it returned normally,
    // the instant messages. When `update` throws, no instant message is sent
    // and the exception propagates (the delay messages already sent are
    // harmless: the indexer reloads the truth). When a delay message fails,
    // PublishError is thrown and `update` is not run.
    template <class Update>
    AnnounceReport bulk(const std::vector<Id>& ids, Update&& update) {
        AnnounceReport report;
        report.delay = send_delay(ids);
        if (!report.delay.ok()) throw_delay_failed(report.delay);
        std::forward<Update>(update)();
        report.instant = send_instant(ids);
        return report;
    }

    // The two stages on their own.
    SendReport send_delay(const std::vector<Id>& ids);
    SendReport send_instant(const std::vector<Id>& ids);

private:
    [[noreturn]] static void throw_delay_failed(SendReport report);

    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::client
