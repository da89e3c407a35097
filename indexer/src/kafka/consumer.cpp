#include <indexer/kafka/consumer.hpp>

#include "rdkafka_support.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <set>

namespace indexer::kafka {

class Consumer::Impl : public RdKafka::RebalanceCb {
public:
    Impl(ConsumerOptions options_in, RebalanceHooks hooks_in)
        : options(std::move(options_in)),
          hooks(std::move(hooks_in)),
          log_bridge("consumer group " + options.group_id) {}

    void rebalance_cb(RdKafka::KafkaConsumer* client, RdKafka::ErrorCode error,
                      std::vector<RdKafka::TopicPartition*>& partitions) override;

    Status pause_partitions(const std::vector<TopicPartition>& partitions);
    Status resume_partitions(const std::vector<TopicPartition>& partitions);
    void forget(const std::vector<TopicPartition>& partitions);
    void call_revoke_hook(const std::vector<TopicPartition>& partitions, bool lost);
    void log_consume_error(const std::string& error);
    std::string who() const { return "kafka consumer group " + options.group_id; }

    ConsumerOptions options;
    RebalanceHooks hooks;
    detail::LogBridge log_bridge;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer;
    std::set<TopicPartition> assigned;
    std::set<TopicPartition> paused;
    bool pause_all = false;
    // Messages that arrived for a paused partition: returned first after resume.
    std::map<TopicPartition, std::deque<Message>> held;
    std::deque<Message> ready;
    // Revoked while poll_batch() runs: what it received of them before is dropped.
    std::set<TopicPartition> revoked_during_poll;
    bool closed = false;
    std::string last_error;
    std::chrono::steady_clock::time_point last_error_logged;
};

void Consumer::Impl::rebalance_cb(RdKafka::KafkaConsumer* client, RdKafka::ErrorCode error,
                                  std::vector<RdKafka::TopicPartition*>& partitions) {
    const auto list = detail::to_partitions(partitions);
    const bool cooperative = client->rebalance_protocol() == "COOPERATIVE";
    if (error == RdKafka::ERR__ASSIGN_PARTITIONS) {
        if (cooperative) {
            std::unique_ptr<RdKafka::Error> failure(client->incremental_assign(partitions));
            if (failure) spdlog::error("{}: incremental assign failed: {}", who(), failure->str());
        } else if (const auto code = client->assign(partitions); code != RdKafka::ERR_NO_ERROR) {
            spdlog::error("{}: assign failed: {}", who(), detail::describe(code));
        }
        assigned.insert(list.begin(), list.end());
        spdlog::info("{}: assigned {} ({} rebalancing)", who(), to_string(list),
                     cooperative ? "cooperative" : "eager");
        if (pause_all) {
            if (Status status = pause_partitions(list); !status) {
                spdlog::error("{}: {}", who(), status.message());
            }
        } else {
            // A partition paused before an earlier revocation must not come back
            // paused while we believe it fetches.
            detail::PartitionList fresh(list);
            client->resume(fresh.get());
        }
        if (hooks.on_assigned) {
            try {
                hooks.on_assigned(list);
            } catch (const std::exception& exception) {
                spdlog::error("{}: assign hook failed: {}", who(), exception.what());
            }
        }
        return;
    }

    if (error == RdKafka::ERR__REVOKE_PARTITIONS) {
        const bool lost = client->assignment_lost();
        spdlog::info("{}: {} {}", who(), lost ? "lost" : "revoked", to_string(list));
        // Lost partitions belong to another member already: no commit for them,
        // not even from the hook.
        if (lost) {
            for (const auto& partition : list) assigned.erase(partition);
        }
        call_revoke_hook(list, lost);
        forget(list);
        if (cooperative) {
            std::unique_ptr<RdKafka::Error> failure(client->incremental_unassign(partitions));
            if (failure) spdlog::error("{}: incremental unassign failed: {}", who(), failure->str());
        } else if (const auto code = client->unassign(); code != RdKafka::ERR_NO_ERROR) {
            spdlog::error("{}: unassign failed: {}", who(), detail::describe(code));
        }
        return;
    }

    // Any other rebalance error: the assignment cannot be trusted any more.
    spdlog::error("{}: rebalance failed: {}; dropping the assignment", who(), detail::describe(error));
    const std::vector<TopicPartition> all(assigned.begin(), assigned.end());
    assigned.clear();
    call_revoke_hook(all, true);
    forget(all);
    client->unassign();
}

void Consumer::Impl::call_revoke_hook(const std::vector<TopicPartition>& partitions, bool lost) {
    if (!hooks.on_revoked || partitions.empty()) return;
    try {
        hooks.on_revoked(partitions, lost);
    } catch (const std::exception& exception) {
        // Never let an exception unwind through librdkafka's C frames.
        spdlog::error("{}: revoke hook failed: {}", who(), exception.what());
    }
}

void Consumer::Impl::forget(const std::vector<TopicPartition>& partitions) {
    for (const auto& partition : partitions) {
        assigned.erase(partition);
        paused.erase(partition);
        held.erase(partition);
    }
    const std::set<TopicPartition> gone(partitions.begin(), partitions.end());
    revoked_during_poll.insert(gone.begin(), gone.end());
    std::erase_if(ready,
                  [&gone](const Message& message) { return gone.contains(message.topic_partition()); });
}

Status Consumer::Impl::pause_partitions(const std::vector<TopicPartition>& partitions) {
    std::vector<TopicPartition> owned;
    for (const auto& partition : partitions) {
        if (assigned.contains(partition) && !paused.contains(partition)) owned.push_back(partition);
    }
    if (owned.empty()) return Status::ok();
    detail::PartitionList list(owned);
    if (const auto code = consumer->pause(list.get()); code != RdKafka::ERR_NO_ERROR) {
        return Status::error(who() + ": pause failed: " + detail::describe(code));
    }
    for (const auto* partition : list.get()) {
        if (partition->err() != RdKafka::ERR_NO_ERROR) {
            return Status::error(who() + ": pause of " + partition->topic() + "[" +
                                 std::to_string(partition->partition()) +
                                 "] failed: " + detail::describe(partition->err()));
        }
        paused.insert({partition->topic(), partition->partition()});
    }
    return Status::ok();
}

Status Consumer::Impl::resume_partitions(const std::vector<TopicPartition>& partitions) {
    std::vector<TopicPartition> to_resume;
    for (const auto& partition : partitions) {
        if (paused.contains(partition)) to_resume.push_back(partition);
    }
    if (to_resume.empty()) return Status::ok();
    detail::PartitionList list(to_resume);
    if (const auto code = consumer->resume(list.get()); code != RdKafka::ERR_NO_ERROR) {
        return Status::error(who() + ": resume failed: " + detail::describe(code));
    }
    for (const auto* partition : list.get()) {
        const TopicPartition resumed{partition->topic(), partition->partition()};
        if (partition->err() != RdKafka::ERR_NO_ERROR) {
            return Status::error(who() + ": resume of " + to_string(resumed) +
                                 " failed: " + detail::describe(partition->err()));
        }
        paused.erase(resumed);
        if (auto found = held.find(resumed); found != held.end()) {
            std::move(found->second.begin(), found->second.end(), std::back_inserter(ready));
            held.erase(found);
        }
    }
    return Status::ok();
}

void Consumer::Impl::log_consume_error(const std::string& error) {
    // The same error repeats on every poll while a broker is down: once a minute.
    const auto now = std::chrono::steady_clock::now();
    if (error == last_error && now - last_error_logged < std::chrono::minutes(1)) return;
    last_error = error;
    last_error_logged = now;
    spdlog::warn("{}: {}", who(), error);
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() {
    if (impl_ && !impl_->closed) {
        if (Status status = close(); !status) spdlog::warn("{}", status.message());
    }
}

Result<std::unique_ptr<Consumer>> Consumer::create(ConsumerOptions options, RebalanceHooks hooks) {
    if (options.topic.empty()) return Status::error("a consumer needs a topic");
    auto properties = consumer_properties(options.client, options.group_id);
    if (!properties) return properties.status();
    auto impl = std::make_unique<Impl>(std::move(options), std::move(hooks));
    auto conf = detail::make_conf(properties.value(), &impl->log_bridge);
    if (!conf) return conf.status();
    std::string error;
    if (conf.value()->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(impl.get()), error) !=
        RdKafka::Conf::CONF_OK) {
        return Status::error(impl->who() + ": " + error);
    }
    impl->consumer.reset(RdKafka::KafkaConsumer::create(conf.value().get(), error));
    if (!impl->consumer) return Status::error(impl->who() + ": " + error);
    if (const auto code = impl->consumer->subscribe({impl->options.topic}); code != RdKafka::ERR_NO_ERROR) {
        return Status::error(impl->who() + ": cannot subscribe to " + impl->options.topic + ": " +
                             detail::describe(code));
    }
    return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Result<std::vector<Message>> Consumer::poll_batch() {
    return poll_batch(impl_->options.max_messages, impl_->options.max_wait);
}

Result<std::vector<Message>> Consumer::poll_batch(std::size_t max_messages,
                                                  std::chrono::milliseconds max_wait, std::size_t max_bytes,
                                                  bool until_drained) {
    Impl& impl = *impl_;
    if (impl.closed) return Status::error(impl.who() + ": polled after close");
    max_messages = std::max<std::size_t>(max_messages, 1);
    std::vector<Message> batch;
    std::size_t bytes = 0;
    impl.revoked_during_poll.clear();
    const auto take = [&](Message&& message) {
        bytes += message_bytes(message);
        batch.push_back(std::move(message));
    };
    while (!impl.ready.empty() && batch.size() < max_messages && bytes < max_bytes) {
        take(std::move(impl.ready.front()));
        impl.ready.pop_front();
    }
    const auto deadline = std::chrono::steady_clock::now() + max_wait;
    while (batch.size() < max_messages && bytes < max_bytes) {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        const bool drained_check = until_drained && !batch.empty();
        const int timeout_ms = drained_check ? 0 : static_cast<int>(std::max<std::int64_t>(left.count(), 0));
        std::unique_ptr<RdKafka::Message> message(impl.consumer->consume(timeout_ms));
        if (!impl.revoked_during_poll.empty()) {
            // Received before a revocation served by this consume(): the partition
            // restarts from its committed offset (here or at its new owner), so
            // these copies must not be handed out. What arrives from now on (also
            // of a partition assigned again) is new and kept.
            std::erase_if(batch, [&](const Message& received) {
                return impl.revoked_during_poll.contains(received.topic_partition());
            });
            bytes = 0;
            for (const Message& received : batch) bytes += message_bytes(received);
            impl.revoked_during_poll.clear();
        }
        if (drained_check && message->err() == RdKafka::ERR__TIMED_OUT) break;
        switch (message->err()) {
            case RdKafka::ERR_NO_ERROR: {
                Message received = detail::to_message(*message);
                const TopicPartition partition = received.topic_partition();
                if (!impl.assigned.contains(partition)) break;  // revoked meanwhile: the new owner reads it
                if (impl.paused.contains(partition)) {
                    impl.held[partition].push_back(std::move(received));
                } else {
                    take(std::move(received));
                }
                break;
            }
            case RdKafka::ERR__TIMED_OUT:
            case RdKafka::ERR__PARTITION_EOF:
                break;
            case RdKafka::ERR__FATAL: {
                std::string reason;
                impl.consumer->fatal_error(reason);
                return Status::error(impl.who() + ": fatal error: " + reason);
            }
            default:
                impl.log_consume_error(message->errstr());
                break;
        }
        if (std::chrono::steady_clock::now() >= deadline) break;
    }
    return batch;
}

Status Consumer::commit(const std::map<TopicPartition, std::int64_t>& next_offsets) {
    Impl& impl = *impl_;
    if (impl.closed) return Status::error(impl.who() + ": commit after close");
    if (next_offsets.empty()) return Status::ok();
    std::vector<TopicPartition> not_owned;
    for (const auto& [partition, offset] : next_offsets) {
        if (!impl.assigned.contains(partition)) not_owned.push_back(partition);
    }
    if (!not_owned.empty()) {
        return Status::error(impl.who() + ": not committing: " + to_string(not_owned) +
                             " no longer assigned to this consumer");
    }
    detail::PartitionList list;
    for (const auto& [partition, offset] : next_offsets) list.add(partition, offset);
    if (const auto code = impl.consumer->commitSync(list.get()); code != RdKafka::ERR_NO_ERROR) {
        return Status::retryable_error(impl.who() + ": commit failed: " + detail::describe(code));
    }
    for (const auto* partition : list.get()) {
        if (partition->err() != RdKafka::ERR_NO_ERROR) {
            return Status::retryable_error(impl.who() + ": commit of " + partition->topic() + "[" +
                                           std::to_string(partition->partition()) +
                                           "] failed: " + detail::describe(partition->err()));
        }
    }
    return Status::ok();
}

Status Consumer::pause() {
    impl_->pause_all = true;
    return impl_->pause_partitions(assignment());
}

Status Consumer::pause(const std::vector<TopicPartition>& partitions) {
    return impl_->pause_partitions(partitions);
}

Status Consumer::resume() {
    impl_->pause_all = false;
    return impl_->resume_partitions(paused());
}

Status Consumer::resume(const std::vector<TopicPartition>& partitions) {
    return impl_->resume_partitions(partitions);
}

std::vector<TopicPartition> Consumer::assignment() const {
    return {impl_->assigned.begin(), impl_->assigned.end()};
}

std::vector<TopicPartition> Consumer::paused() const {
    return {impl_->paused.begin(), impl_->paused.end()};
}

bool Consumer::owns(const TopicPartition& partition) const {
    return impl_->assigned.contains(partition);
}

Status Consumer::close() {
    Impl& impl = *impl_;
    if (impl.closed) return Status::ok();
    if (impl.consumer->rebalance_protocol() == "COOPERATIVE") {
        // librdkafka 2.0.2 may hang in close() when a cooperative rebalance is
        // under way: leave the subscription first and let the revocation (and
        // the revoke hook) happen in ordinary polls.
        impl.consumer->unsubscribe();
        const auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!impl.assigned.empty() && std::chrono::steady_clock::now() < give_up_at) {
            // Messages still arriving are not handed out: uncommitted, the next owner reads them.
            std::unique_ptr<RdKafka::Message> ignored(impl.consumer->consume(100));
        }
    }
    // The revoke hook runs inside close() (or above): the in-flight work may still commit.
    const auto code = impl.consumer->close();
    impl.closed = true;
    impl.assigned.clear();
    impl.paused.clear();
    impl.held.clear();
    impl.ready.clear();
    if (code != RdKafka::ERR_NO_ERROR)
        return Status::error(impl.who() + ": close failed: " + detail::describe(code));
    return Status::ok();
}

const ConsumerOptions& Consumer::options() const {
    return impl_->options;
}

}  // namespace indexer::kafka
