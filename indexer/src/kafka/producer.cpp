#include <indexer/kafka/producer.hpp>

#include "rdkafka_support.hpp"

#include <spdlog/spdlog.h>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

namespace indexer::kafka {
namespace {

// librdkafka's per-message opaque is a void* handed back in the delivery
// report and never dereferenced: it carries the ticket number itself.
void* to_opaque(DeliveryTicket ticket) {
    return reinterpret_cast<void*>(  // NOLINT(performance-no-int-to-ptr): see above
        static_cast<std::uintptr_t>(ticket));
}
DeliveryTicket from_opaque(void* opaque) {
    return static_cast<DeliveryTicket>(reinterpret_cast<std::uintptr_t>(opaque));
}

// How long produce() waits for room in a full local queue.
constexpr std::chrono::seconds queue_full_patience{30};

// Failures that the same message meets again however often it is sent.
bool is_permanent(RdKafka::ErrorCode code) {
    switch (code) {
        case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
        case RdKafka::ERR_RECORD_LIST_TOO_LARGE:
        case RdKafka::ERR_INVALID_RECORD:
        case RdKafka::ERR_TOPIC_EXCEPTION:  // invalid topic name
        case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
        case RdKafka::ERR_CLUSTER_AUTHORIZATION_FAILED:
        case RdKafka::ERR_INVALID_MSG_SIZE:
            return true;
        default:
            return false;
    }
}

}  // namespace

class Producer::Impl : public RdKafka::DeliveryReportCb {
public:
    struct Pending {
        std::string topic;
        std::optional<std::string> key;
    };

    void dr_cb(RdKafka::Message& message) override {
        const auto found = pending.find(from_opaque(message.msg_opaque()));
        if (found == pending.end()) return;  // already reported as not acknowledged in time
        if (message.err() != RdKafka::ERR_NO_ERROR) {
            failed.push_back({found->first, std::move(found->second.topic), std::move(found->second.key),
                              message.errstr(), is_permanent(message.err())});
        }
        pending.erase(found);
    }

    // The fatal error of the idempotent producer, if any: it cannot produce any
    // more and must be recreated.
    std::optional<std::string> fatal_error() const {
        std::string reason;
        if (producer->fatal_error(reason) == RdKafka::ERR_NO_ERROR) return std::nullopt;
        return reason;
    }

    // A producer in the fatal state never sends again: a new one takes its
    // place, and what was in flight on the old one is reported failed.
    Status rebuild(const std::string& fatal) {
        spdlog::error(
            "kafka producer: fatal error ({}); replacing the producer, {} message(s) in flight failed", fatal,
            pending.size());
        for (auto& [ticket, entry] : pending) {
            failed.push_back(
                {ticket, std::move(entry.topic), std::move(entry.key), "fatal: " + fatal, false});
        }
        pending.clear();
        producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT |
                        RdKafka::Producer::PURGE_NON_BLOCKING);
        std::string error;
        std::unique_ptr<RdKafka::Producer> fresh(RdKafka::Producer::create(conf.get(), error));
        if (!fresh)
            return Status::retryable_error("kafka producer: cannot replace it after a fatal error: " + error);
        producer = std::move(fresh);
        ++rebuilds;
        return Status::ok();
    }

    detail::LogBridge log_bridge{"producer"};
    std::unique_ptr<RdKafka::Conf> conf;
    std::size_t max_message_bytes = 1'000'000;
    std::uint64_t rebuilds = 0;
    std::unique_ptr<RdKafka::Producer> producer;
    DeliveryTicket next_ticket = 1;
    std::unordered_map<DeliveryTicket, Pending> pending;
    std::vector<DeliveryFailure> failed;
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer::~Producer() {
    if (!impl_ || !impl_->producer) return;
    impl_->producer->flush(30'000);
    if (const int left = impl_->producer->outq_len(); left > 0) {
        spdlog::error("kafka producer: closing with {} message(s) not delivered", left);
    }
}

Result<std::unique_ptr<Producer>> Producer::create(const ClientOptions& options) {
    auto properties = producer_properties(options);
    if (!properties) return properties.status();
    auto impl = std::make_unique<Impl>();
    auto conf = detail::make_conf(properties.value(), &impl->log_bridge);
    if (!conf) return conf.status();
    std::string error;
    if (conf.value()->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(impl.get()), error) !=
        RdKafka::Conf::CONF_OK) {
        return Status::error("kafka producer: " + error);
    }
    impl->producer.reset(RdKafka::Producer::create(conf.value().get(), error));
    if (!impl->producer) return Status::error("kafka producer: " + error);
    if (std::string value; conf.value()->get("message.max.bytes", value) == RdKafka::Conf::CONF_OK) {
        if (const long long bytes = std::atoll(value.c_str()); bytes > 0) {
            impl->max_message_bytes = static_cast<std::size_t>(bytes);
        }
    }
    impl->conf = std::move(conf.value());
    return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Result<DeliveryTicket> Producer::produce(const OutgoingMessage& message) {
    Impl& impl = *impl_;
    if (auto fatal = impl.fatal_error()) {
        if (Status rebuilt = impl.rebuild(*fatal); !rebuilt) return rebuilt;
    }
    // Ownership of the headers passes to librdkafka only when produce succeeds.
    std::unique_ptr<RdKafka::Headers> headers;
    if (!message.headers.empty()) {
        headers.reset(RdKafka::Headers::create());
        for (const auto& header : message.headers) {
            headers->add(header.key, header.value ? header.value->data() : nullptr,
                         header.value ? header.value->size() : 0);
        }
    }
    const DeliveryTicket ticket = impl.next_ticket++;
    const auto give_up_at = std::chrono::steady_clock::now() + queue_full_patience;
    for (;;) {
        const auto code = impl.producer->produce(
            message.topic, message.partition.value_or(RdKafka::Topic::PARTITION_UA),
            RdKafka::Producer::RK_MSG_COPY,
            message.value ? const_cast<char*>(message.value->data()) : nullptr,
            message.value ? message.value->size() : 0, message.key ? message.key->data() : nullptr,
            message.key ? message.key->size() : 0, 0, headers.get(), to_opaque(ticket));
        if (code == RdKafka::ERR_NO_ERROR) {
            headers.release();  // NOLINT(bugprone-unused-return-value): librdkafka owns them now
            impl.pending.emplace(ticket, Impl::Pending{message.topic, message.key});
            impl.producer->poll(0);
            return ticket;
        }
        if (code == RdKafka::ERR__QUEUE_FULL && std::chrono::steady_clock::now() < give_up_at) {
            impl.producer->poll(100);  // serves delivery reports, making room
            continue;
        }
        std::string reason =
            "kafka producer: cannot queue a message for " + message.topic + ": " + detail::describe(code);
        if (is_permanent(code)) return Status::error(std::move(reason));
        return Status::retryable_error(std::move(reason));
    }
}

DeliveryReport Producer::await_deliveries(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    impl.producer->poll(0);
    while (!impl.pending.empty()) {
        if (auto fatal = impl.fatal_error()) {
            (void)impl.rebuild(
                *fatal);  // fails what is pending; a failed rebuild shows at the next produce()
            break;
        }
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        impl.producer->poll(static_cast<int>(std::min<std::int64_t>(left.count(), 100)));
    }
    DeliveryReport report;
    report.failed = std::move(impl.failed);
    impl.failed.clear();
    report.pending = impl.pending.size();
    return report;
}

std::vector<Status> Producer::send(const std::vector<OutgoingMessage>& messages,
                                   std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    std::vector<Status> results(messages.size());
    std::unordered_map<DeliveryTicket, std::size_t> index_of;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        auto ticket = produce(messages[i]);
        if (!ticket) {
            results[i] = ticket.status();
            continue;
        }
        index_of.emplace(ticket.value(), i);
    }
    DeliveryReport report = await_deliveries(timeout);
    for (auto& failure : report.failed) {
        if (const auto found = index_of.find(failure.ticket); found != index_of.end()) {
            std::string reason = "kafka producer: delivery to " + failure.topic + " failed: " + failure.error;
            results[found->second] = failure.permanent ? Status::error(std::move(reason))
                                                       : Status::retryable_error(std::move(reason));
        } else {
            impl.failed.push_back(std::move(failure));  // another caller's: keep for its report
        }
    }
    for (const auto& [ticket, index] : index_of) {
        if (impl.pending.erase(ticket) > 0) {
            results[index] = Status::retryable_error("kafka producer: message to " + messages[index].topic +
                                                     " not acknowledged within " +
                                                     std::to_string(timeout.count()) + " ms");
        }
    }
    return results;
}

std::size_t Producer::max_message_bytes() const {
    return impl_->max_message_bytes;
}

void Producer::simulate_fatal_error_for_test() {
    rd_kafka_test_fatal_error(impl_->producer->c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                              "simulated by a test");
}

std::size_t Producer::in_flight() const {
    return impl_->pending.size();
}

}  // namespace indexer::kafka
