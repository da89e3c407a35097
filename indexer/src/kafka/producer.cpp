#include <indexer/kafka/producer.hpp>

#include "rdkafka_support.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

namespace indexer::kafka {
namespace {

void* to_opaque(DeliveryTicket ticket) {
    return reinterpret_cast<void*>(static_cast<std::uintptr_t>(ticket));
}
DeliveryTicket from_opaque(void* opaque) {
    return static_cast<DeliveryTicket>(reinterpret_cast<std::uintptr_t>(opaque));
}

// How long produce() waits for room in a full local queue.
constexpr std::chrono::seconds queue_full_patience{30};

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
                              message.errstr()});
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

    detail::LogBridge log_bridge{"producer"};
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
    return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Result<DeliveryTicket> Producer::produce(const OutgoingMessage& message) {
    Impl& impl = *impl_;
    if (auto fatal = impl.fatal_error()) return Status::error("kafka producer: fatal error: " + *fatal);
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
        return Status::error("kafka producer: cannot queue a message for " + message.topic + ": " +
                             detail::describe(code));
    }
}

DeliveryReport Producer::await_deliveries(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    impl.producer->poll(0);
    while (!impl.pending.empty()) {
        if (auto fatal = impl.fatal_error()) {
            for (auto& [ticket, pending] : impl.pending) {
                impl.failed.push_back(
                    {ticket, std::move(pending.topic), std::move(pending.key), "fatal: " + *fatal});
            }
            impl.pending.clear();
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
            results[found->second] =
                Status::error("kafka producer: delivery to " + failure.topic + " failed: " + failure.error);
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

std::size_t Producer::in_flight() const {
    return impl_->pending.size();
}

}  // namespace indexer::kafka
