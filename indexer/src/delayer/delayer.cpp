#include <indexer/delayer/delayer.hpp>

#include <indexer/delayer/delay_message.hpp>
#include <indexer/kafka/admin.hpp>
#include <indexer/kafka/consumer.hpp>
#include <indexer/kafka/dead_letter.hpp>
#include <indexer/kafka/producer.hpp>
#include <indexer/util/backoff.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

namespace indexer::delayer {
namespace {

using namespace std::chrono_literals;
using kafka::TopicPartition;

// The longest the loop goes without polling the consumer while idle; keeps
// stop() responsive and is far below any max.poll.interval.ms.
constexpr auto max_idle_poll = 500ms;
// How long one loop iteration waits for deliveries before polling again.
constexpr auto delivery_slice = 100ms;
// Bound of the waits for deliveries at a revocation and at stop().
constexpr auto final_delivery_wait = 10s;
constexpr std::size_t max_poll_messages = 500;
constexpr std::size_t max_round_per_partition = 1000;

// dead_letter_bare: the dead letter without key, value and original headers,
// after the broker refused the full one for good. lost: nothing can be
// published for the message (logged, counted); its offset just moves on.
enum class Action { republish, pass_through, dead_letter, dead_letter_bare, lost };

// Stands in a partition's in_flight list for a lost message: nothing to await.
constexpr kafka::DeliveryTicket no_delivery = 0;

struct Waiting {
    kafka::Message message;
    Clock::time_point due;
    kafka::OutgoingMessage out;
    Action action = Action::republish;
};

struct PartitionState {
    std::deque<Waiting> queue;
    // Tickets of the head messages being published in the current round.
    std::vector<kafka::DeliveryTicket> in_flight;
    // Tells a state apart from an earlier one of the same partition (revoked,
    // then assigned again while a round was in flight).
    std::uint64_t generation = 0;
    bool paused = false;
    Clock::time_point retry_at{};
    Backoff backoff{100ms, 30s};
};

// The messages produced together and awaited together before the next ones.
struct Round {
    std::map<TopicPartition, std::uint64_t> generations;
    std::unordered_map<kafka::DeliveryTicket, kafka::DeliveryFailure> failed;
};

// At most one warning per kind every 10 s, with the number suppressed.
class RateLimitedLog {
public:
    template <class... Args>
    void warn(fmt::format_string<Args...> format, Args&&... args) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < 10s && logged_) {
            ++suppressed_;
            return;
        }
        const std::string text = fmt::format(format, std::forward<Args>(args)...);
        if (suppressed_ > 0) {
            spdlog::warn("{} ({} similar messages suppressed)", text, suppressed_);
        } else {
            spdlog::warn("{}", text);
        }
        logged_ = true;
        last_ = now;
        suppressed_ = 0;
    }

private:
    bool logged_ = false;
    std::chrono::steady_clock::time_point last_;
    std::uint64_t suppressed_ = 0;
};

}  // namespace

class Delayer::Impl {
public:
    explicit Impl(DelayerOptions options_in) : options(std::move(options_in)) {}

    Status run();
    void on_assigned(const std::vector<TopicPartition>& assigned);
    void on_revoked(const std::vector<TopicPartition>& revoked, bool lost);
    void check_partition_mirroring();
    void accept(std::vector<kafka::Message> batch, Clock::time_point now);
    void start_round(Clock::time_point now);
    void await_round(std::chrono::milliseconds timeout);
    void finish_round(Clock::time_point now);
    void commit_uncommitted();
    void give_up_form(const TopicPartition& partition, Waiting& waiting, const std::string& error);
    void update_pauses(Clock::time_point now);
    std::chrono::milliseconds next_poll_wait(Clock::time_point now) const;
    void publish_stats(Clock::time_point now);
    std::string who() const { return "delayer " + options.name; }

    DelayerOptions options;
    std::atomic<bool> stop_requested{false};
    DelayerStats counters;  // the run thread's; copied to `snapshot`
    mutable std::mutex snapshot_mutex;
    DelayerStats snapshot;

    std::map<TopicPartition, PartitionState> partitions;
    std::optional<Round> round;
    bool round_complete = false;  // every delivery report of `round` arrived
    std::map<TopicPartition, std::int64_t> uncommitted;
    std::uint64_t next_generation = 1;
    bool mirror_partitions = false;
    RateLimitedLog future_log;
    RateLimitedLog broken_log;
    RateLimitedLog commit_log;
    RateLimitedLog publish_log;

    // Declared last: destroyed first, while what its hooks touch still exists.
    std::unique_ptr<kafka::Producer> producer;
    std::unique_ptr<kafka::Consumer> consumer;
};

void Delayer::Impl::on_assigned(const std::vector<TopicPartition>& assigned) {
    for (const auto& partition : assigned) {
        PartitionState state;
        state.generation = next_generation++;
        partitions.insert_or_assign(partition, std::move(state));
    }
    ++counters.assignments;
}

void Delayer::Impl::on_revoked(const std::vector<TopicPartition>& revoked, bool lost) {
    ++counters.revocations;
    if (!lost) {
        // Finish what is in flight and commit it while the partitions are ours,
        // so that the next owner re-publishes as little as possible.
        if (round && !round_complete) await_round(final_delivery_wait);
        if (round && round_complete) finish_round(Clock::now());
        commit_uncommitted();
    }
    for (const auto& partition : revoked) {
        partitions.erase(partition);
        uncommitted.erase(partition);
    }
}

void Delayer::Impl::check_partition_mirroring() {
    auto admin = kafka::Admin::create(options.kafka);
    if (!admin) {
        spdlog::warn("{}: {}", who(), admin.error());
        return;
    }
    auto source = admin.value()->partition_count(options.topic, 10s);
    auto target = admin.value()->partition_count(options.target_topic, 10s);
    mirror_partitions =
        source && target && source.value() && target.value() && *source.value() == *target.value();
    if (mirror_partitions) {
        spdlog::info("{}: {} and {} have {} partitions: messages keep their partition number", who(),
                     options.topic, options.target_topic, *source.value());
    } else {
        spdlog::info(
            "{}: {} and {} differ in partitions (or are not known yet): the partitioner places messages by "
            "key",
            who(), options.topic, options.target_topic);
    }
}

void Delayer::Impl::accept(std::vector<kafka::Message> batch, Clock::time_point now) {
    for (auto& message : batch) {
        const TopicPartition partition = message.topic_partition();
        auto found = partitions.find(partition);
        if (found == partitions.end()) {
            PartitionState state;
            state.generation = next_generation++;
            found = partitions.emplace(partition, std::move(state)).first;
        }
        const DelayPlan plan = plan_delay(message.value, message.timestamp, now, options.future_tolerance);
        if (plan.time_from_future) {
            ++counters.future_times;
            future_log.warn("{}: {}@{} has a time in the future (clock skew?): the delay counts from now",
                            who(), kafka::to_string(partition), message.offset);
        }
        Waiting waiting;
        waiting.due = plan.time + options.delay;
        waiting.out = kafka::OutgoingMessage{
            options.target_topic, mirror_partitions ? std::optional(message.partition) : std::nullopt,
            message.key, plan.value, message.headers};
        if (plan.format == DelayFormat::broken_wrapper) {
            if (options.dead_letter_topic) {
                waiting.action = Action::dead_letter;
                waiting.due = now;
                waiting.out = kafka::make_dead_letter(message, *options.dead_letter_topic, options.name,
                                                      kafka::dead_letter_stage::delay_wrapper, plan.problem,
                                                      producer->max_message_bytes());
            } else {
                waiting.action = Action::pass_through;
                broken_log.warn("{}: {}@{}: {}; re-publishing it unchanged (no dead-letter topic)", who(),
                                kafka::to_string(partition), message.offset, plan.problem);
            }
        }
        waiting.message = std::move(message);
        found->second.queue.push_back(std::move(waiting));
    }
}

void Delayer::Impl::start_round(Clock::time_point now) {
    Round next;
    for (auto& [partition, state] : partitions) {
        if (state.retry_at > now) continue;
        for (std::size_t i = 0; i < state.queue.size() && i < max_round_per_partition; ++i) {
            if (state.queue[i].due > now) break;
            Waiting& waiting = state.queue[i];
            auto ticket = waiting.action == Action::lost ? Result<kafka::DeliveryTicket>(no_delivery)
                                                         : producer->produce(waiting.out);
            // Refused for good (too large for the producer, invalid topic): the
            // next form at once, never a retry that cannot succeed.
            while (!ticket && !ticket.status().is_retryable()) {
                give_up_form(partition, waiting, ticket.error());
                ticket = waiting.action == Action::lost ? Result<kafka::DeliveryTicket>(no_delivery)
                                                        : producer->produce(waiting.out);
            }
            if (!ticket) {
                ++counters.publish_failures;
                state.retry_at = now + state.backoff.next();
                publish_log.warn("{}: {}@{}: {}; retrying", who(), kafka::to_string(partition),
                                 state.queue[i].message.offset, ticket.error());
                break;
            }
            state.in_flight.push_back(ticket.value());
        }
        if (!state.in_flight.empty()) next.generations.emplace(partition, state.generation);
    }
    if (!next.generations.empty()) {
        round = std::move(next);
        round_complete = false;
    }
}

void Delayer::Impl::await_round(std::chrono::milliseconds timeout) {
    kafka::DeliveryReport report = producer->await_deliveries(timeout);
    for (auto& failure : report.failed) round->failed.emplace(failure.ticket, std::move(failure));
    round_complete = report.pending == 0;
}

void Delayer::Impl::finish_round(Clock::time_point now) {
    for (const auto& [partition, generation] : round->generations) {
        const auto found = partitions.find(partition);
        if (found == partitions.end() || found->second.generation != generation)
            continue;  // revoked meanwhile
        PartitionState& state = found->second;
        std::size_t acknowledged = 0;
        const std::string* failure = nullptr;
        bool permanent = false;
        for (const auto ticket : state.in_flight) {
            if (const auto failed = round->failed.find(ticket); failed != round->failed.end()) {
                failure = &failed->second.error;
                permanent = failed->second.permanent;
                break;
            }
            ++acknowledged;
        }
        for (std::size_t i = 0; i < acknowledged; ++i) {
            const Waiting& done = state.queue.front();
            switch (done.action) {
                case Action::republish:
                    ++counters.republished;
                    break;
                case Action::pass_through:
                    ++counters.republished;
                    ++counters.broken_passed_through;
                    break;
                case Action::dead_letter:
                case Action::dead_letter_bare:
                    ++counters.dead_lettered;
                    spdlog::warn("{}: {}@{} dead-lettered to {}", who(), kafka::to_string(partition),
                                 done.message.offset, *options.dead_letter_topic);
                    break;
                case Action::lost:
                    break;  // counted and logged when it was given up
            }
            uncommitted[partition] = done.message.offset + 1;
            state.queue.pop_front();
        }
        if (failure != nullptr && permanent) {
            // Sending it again cannot succeed: its next form goes in the next round.
            give_up_form(partition, state.queue.front(), *failure);
            state.retry_at = now;
        } else if (failure != nullptr) {
            // Everything after the failed message waits too: offsets are
            // committed in order.
            ++counters.publish_failures;
            state.retry_at = now + state.backoff.next();
            publish_log.warn("{}: publishing {}@{} failed: {}; retrying", who(), kafka::to_string(partition),
                             state.queue.front().message.offset, *failure);
        } else {
            state.backoff.reset();
        }
        state.in_flight.clear();
    }
    round.reset();
    round_complete = false;
    commit_uncommitted();
}

void Delayer::Impl::give_up_form(const TopicPartition& partition, Waiting& waiting,
                                 const std::string& error) {
    ++counters.publish_refused;
    const std::string where = kafka::to_string(partition) + "@" + std::to_string(waiting.message.offset);
    switch (waiting.action) {
        case Action::republish:
        case Action::pass_through:
            if (options.dead_letter_topic) {
                spdlog::error("{}: {} refused by {} for good ({}); dead-lettering it", who(), where,
                              options.target_topic, error);
                waiting.action = Action::dead_letter;
                waiting.out = kafka::make_dead_letter(
                    waiting.message, *options.dead_letter_topic, options.name,
                    kafka::dead_letter_stage::republish,
                    "re-publishing to " + options.target_topic + " was refused: " + error,
                    producer->max_message_bytes());
                return;
            }
            break;
        case Action::dead_letter: {
            spdlog::error(
                "{}: the dead letter of {} was refused for good ({}); sending it without key and value",
                who(), where, error);
            const kafka::Header* reason =
                kafka::find_header(waiting.out.headers, kafka::dead_letter_header::reason);
            const kafka::Header* stage =
                kafka::find_header(waiting.out.headers, kafka::dead_letter_header::stage);
            waiting.action = Action::dead_letter_bare;
            waiting.out =
                kafka::make_bare_dead_letter(waiting.message, *options.dead_letter_topic, options.name,
                                             stage && stage->value ? *stage->value : std::string(),
                                             reason && reason->value ? *reason->value : std::string());
            return;
        }
        case Action::dead_letter_bare:
        case Action::lost:
            break;
    }
    // Nothing more to try: holding the partition for it would stall it for good.
    ++counters.lost;
    spdlog::error("{}: MESSAGE LOST: {} cannot be re-published{}: {}", who(), where,
                  options.dead_letter_topic ? " nor dead-lettered" : " and there is no dead-letter topic",
                  error);
    waiting.action = Action::lost;
}

void Delayer::Impl::commit_uncommitted() {
    std::erase_if(uncommitted, [this](const auto& entry) { return !consumer->owns(entry.first); });
    if (uncommitted.empty()) return;
    if (Status status = consumer->commit(uncommitted); !status) {
        // Kept and retried with the next commit; a crash before then only
        // re-publishes these messages once more.
        commit_log.warn("{}: {}", who(), status.message());
        return;
    }
    uncommitted.clear();
}

void Delayer::Impl::update_pauses(Clock::time_point now) {
    for (auto& [partition, state] : partitions) {
        bool pause = false;
        if (!state.queue.empty()) {
            pause = state.queue.front().due > now || state.retry_at > now ||
                    state.queue.size() >= options.max_waiting_per_partition;
        }
        if (pause == state.paused) continue;
        const Status status = pause ? consumer->pause({partition}) : consumer->resume({partition});
        if (!status) {
            spdlog::error("{}: {}", who(), status.message());
            continue;
        }
        state.paused = pause;
    }
}

std::chrono::milliseconds Delayer::Impl::next_poll_wait(Clock::time_point now) const {
    if (round) return 0ms;  // await_round() waited already
    std::optional<Clock::time_point> next;
    for (const auto& [partition, state] : partitions) {
        if (state.queue.empty()) continue;
        const auto ready_at = std::max(state.queue.front().due, state.retry_at);
        if (!next || ready_at < *next) next = ready_at;
    }
    if (!next) return max_idle_poll;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - now);
    return std::clamp<std::chrono::milliseconds>(wait, 0ms, max_idle_poll);
}

void Delayer::Impl::publish_stats(Clock::time_point now) {
    DelayerStats current = counters;
    std::optional<Clock::time_point> next_due;
    for (const auto& [partition, state] : partitions) {
        current.waiting += state.queue.size();
        if (!state.queue.empty() && (!next_due || state.queue.front().due < *next_due)) {
            next_due = state.queue.front().due;
        }
    }
    if (next_due) {
        current.seconds_until_next_due =
            std::max(0.0, std::chrono::duration<double>(*next_due - now).count());
    }
    const std::lock_guard lock(snapshot_mutex);
    snapshot = current;
}

Status Delayer::Impl::run() {
    check_partition_mirroring();
    spdlog::info("{}: re-publishing {} to {} after {} ms", who(), options.topic, options.target_topic,
                 options.delay.count());
    Status result;
    while (!stop_requested.load()) {
        if (!round) start_round(Clock::now());
        if (round) {
            await_round(delivery_slice);
            if (round_complete) finish_round(Clock::now());
        }
        if (!uncommitted.empty()) commit_uncommitted();
        update_pauses(Clock::now());
        publish_stats(Clock::now());
        auto batch = consumer->poll_batch(max_poll_messages, next_poll_wait(Clock::now()));
        if (!batch) {
            result = batch.status();
            spdlog::error("{}: {}", who(), result.message());
            break;
        }
        accept(std::move(batch.value()), Clock::now());
    }
    if (round) {
        await_round(final_delivery_wait);
        if (round_complete) {
            finish_round(Clock::now());
        } else {
            spdlog::warn("{}: stopping with unacknowledged deliveries; their offsets stay uncommitted",
                         who());
        }
    }
    commit_uncommitted();
    if (Status closed = consumer->close(); !closed) spdlog::warn("{}: {}", who(), closed.message());
    partitions.clear();
    publish_stats(Clock::now());
    spdlog::info("{}: stopped ({} re-published)", who(), counters.republished);
    return result;
}

Delayer::Delayer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Delayer::~Delayer() {
    // Leave the group while everything the revoke hook touches is alive (a
    // Delayer destroyed without run()).
    if (impl_ && impl_->consumer) {
        if (Status closed = impl_->consumer->close(); !closed)
            spdlog::warn("{}: {}", impl_->who(), closed.message());
    }
}

Result<std::unique_ptr<Delayer>> Delayer::create(DelayerOptions options) {
    const std::string who = "delayer " + options.name;
    if (options.name.empty()) return Status::error("a delayer needs a name (its consumer group)");
    if (options.topic.empty()) return Status::error(who + ": no delay topic");
    if (options.target_topic.empty()) return Status::error(who + ": no target topic");
    if (options.topic == options.target_topic) {
        return Status::error(who + ": the target topic is the delay topic (" + options.topic + ")");
    }
    if (options.delay.count() < 0) return Status::error(who + ": the delay is negative");
    if (options.dead_letter_topic && options.dead_letter_topic->empty()) options.dead_letter_topic.reset();

    auto impl = std::make_unique<Impl>(std::move(options));
    Impl* self = impl.get();
    auto producer = kafka::Producer::create(self->options.kafka);
    if (!producer) return Status::error(who + ": " + producer.error());
    self->producer = std::move(producer.value());

    kafka::ConsumerOptions consumer_options;
    consumer_options.client = self->options.kafka;
    consumer_options.group_id = self->options.name;
    consumer_options.topic = self->options.topic;
    consumer_options.max_messages = max_poll_messages;
    consumer_options.max_wait = max_idle_poll;
    kafka::RebalanceHooks hooks;
    hooks.on_assigned = [self](const std::vector<TopicPartition>& assigned) { self->on_assigned(assigned); };
    hooks.on_revoked = [self](const std::vector<TopicPartition>& revoked, bool lost) {
        self->on_revoked(revoked, lost);
    };
    auto consumer = kafka::Consumer::create(std::move(consumer_options), std::move(hooks));
    if (!consumer) return Status::error(who + ": " + consumer.error());
    self->consumer = std::move(consumer.value());
    return std::unique_ptr<Delayer>(new Delayer(std::move(impl)));
}

Status Delayer::run() {
    return impl_->run();
}

void Delayer::stop() noexcept {
    impl_->stop_requested.store(true);
}

DelayerStats Delayer::stats() const {
    const std::lock_guard lock(impl_->snapshot_mutex);
    return impl_->snapshot;
}

const DelayerOptions& Delayer::options() const {
    return impl_->options;
}

}  // namespace indexer::delayer
