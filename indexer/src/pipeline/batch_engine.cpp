#include <indexer/pipeline/batch_engine.hpp>

#include <indexer/kafka/message_id.hpp>
#include <indexer/metrics/pipeline_metrics.hpp>
#include <indexer/pipeline/batch_plan.hpp>
#include <indexer/pipeline/pipeline.hpp>
#include <indexer/pipeline/reject_guard.hpp>
#include <indexer/util/backoff.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace indexer::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A failure that goes on is logged again at most this often.
constexpr auto kRepeatLogInterval = std::chrono::seconds(30);
// The longest a revocation waits for a write that holds ops of its partitions.
constexpr auto kRevocationWaitsForWrite = std::chrono::seconds(30);

template <class Duration>
long long ms(Duration duration) {
    return std::chrono::duration_cast<milliseconds>(duration).count();
}

enum class Stage { Queued, Loading, Loaded, Writing, Settled };

struct Batch {
    std::uint64_t seq = 0;
    std::vector<kafka::Message> messages;  // never resized once the batch exists: the plan points into it
    BatchPlan plan;
    std::vector<kafka::DeadLetter> letters;  // parse failures; later id-type and sink rejects
    std::optional<postgres::LoadedBatch> loaded;
    std::map<kafka::TopicPartition, std::int64_t> next_offsets;
    std::set<kafka::TopicPartition> revoked;  // partitions of this batch taken away meanwhile
    std::size_t bytes = 0;                    // held against the budget until settled
    std::size_t upserts = 0;                  // written OK
    std::size_t deletes = 0;
    Stage stage = Stage::Queued;
    Clock::duration poll_time{};
    Clock::time_point load_started{};
    Clock::time_point loaded_at{};
    Clock::time_point written_at{};

    bool dropped() const { return revoked.size() == next_offsets.size(); }
    bool is_revoked(const kafka::Message& message) const {
        return std::any_of(revoked.begin(), revoked.end(), [&](const kafka::TopicPartition& partition) {
            return partition.partition == message.partition && partition.topic == message.topic;
        });
    }
};

using BatchPtr = std::shared_ptr<Batch>;

constexpr std::array kFailingSteps{metrics::FailingStep::Load, metrics::FailingStep::Sink,
                                   metrics::FailingStep::DeadLetter};

}  // namespace

class BatchEngine::Impl {
public:
    Impl(EngineOptions options, IdTransport& transport, RowSource& source, DocumentSink& sink,
         DeadLetterOutput& dead_letters, PipelineStats& stats, metrics::PipelineMetrics& metrics)
        : options_(std::move(options)),
          transport_(transport),
          source_(source),
          sink_(sink),
          dead_letters_(dead_letters),
          stats_(stats),
          metrics_(metrics),
          guard_(options_.name, options_.pause_after_same_rejects, stats) {
        options_.max_messages = std::max<std::size_t>(options_.max_messages, 1);
        options_.max_batches_in_flight = std::max<std::size_t>(options_.max_batches_in_flight, 1);
        options_.loaders = std::max<std::size_t>(options_.loaders, 1);
    }

    ~Impl() { join(); }

    Status run(StopSignal& stop) {
        stop_ = &stop;
        for (std::size_t i = 0; i < options_.loaders; ++i) threads_.emplace_back([this] { load_loop(); });
        threads_.emplace_back([this] { write_loop(); });

        Status result = fetch_until_stopped();
        if (const Status paused = transport_.pause(); !paused) {
            spdlog::warn("{}: pausing for shutdown: {}", options_.name, paused.message());
        }
        open_.clear();
        finish_in_flight();
        join();
        commit_settled();
        const std::size_t unfinished = count_unsettled();
        if (unfinished > 0) {
            spdlog::warn("{}: gave up {} batch(es) without committing them ({})", options_.name, unfinished,
                         stop.deadline_passed() ? "the stop's grace period is over" : "the transport failed");
        }
        return result;
    }

    void on_assigned(const std::vector<kafka::TopicPartition>& partitions) {
        spdlog::info("{}: assigned {}", options_.name, kafka::to_string(partitions));
        stats_.assigned_partitions += static_cast<std::int64_t>(partitions.size());
        stats_.group_joined = true;
        std::lock_guard lock(mutex_);
        for (const auto& partition : partitions) owned_.insert(partition);
    }

    // Runs on the fetching thread, inside poll(), before the revocation completes.
    void on_revoked(const std::vector<kafka::TopicPartition>& partitions, bool lost) {
        spdlog::info("{}: {} {}", options_.name, lost ? "lost" : "revoked", kafka::to_string(partitions));
        stats_.assigned_partitions -= static_cast<std::int64_t>(partitions.size());
        const std::set<kafka::TopicPartition> gone(partitions.begin(), partitions.end());
        std::erase_if(
            open_, [&](const kafka::Message& message) { return gone.contains(message.topic_partition()); });
        std::unique_lock lock(mutex_);
        for (const auto& partition : partitions) {
            owned_.erase(partition);
            committed_.erase(partition);
        }
        bool writing_revoked = false;
        for (const BatchPtr& batch : batches_) {
            for (const auto& partition : partitions) {
                if (!batch->next_offsets.contains(partition)) continue;
                batch->revoked.insert(partition);
                if (std::find(writing_.begin(), writing_.end(), batch) != writing_.end())
                    writing_revoked = true;
            }
        }
        changed_.notify_all();
        if (!writing_revoked || !write_in_call_) return;
        // The write in progress holds ops of these partitions: stop it and wait
        // until it returned, so that nothing of theirs is written after this.
        write_stop_ = true;
        const std::vector<BatchPtr> writing = writing_;
        if (!changed_.wait_for(lock, kRevocationWaitsForWrite,
                               [&] { return !write_in_call_ || writing_ != writing; })) {
            spdlog::warn("{}: the sink's write did not return within {} s of the revocation", options_.name,
                         std::chrono::duration_cast<std::chrono::seconds>(kRevocationWaitsForWrite).count());
        }
    }

private:
    // ---- fetching (the caller's thread) ----------------------------------

    Status fetch_until_stopped() {
        bool paused_for_room = false;
        Clock::time_point first_polled{};
        Clock::time_point open_since{};
        std::size_t open_bytes = 0;
        while (!stop_->requested()) {
            commit_settled();
            if (!wait_for_room()) {
                if (!paused_for_room) {
                    if (const Status paused = transport_.pause(); !paused) {
                        spdlog::warn("{}: pausing: {}", options_.name, paused.message());
                    }
                    paused_for_room = true;
                }
                if (Status polled = poll_into_open(1, options_.poll_slice, open_bytes); !polled)
                    return polled;
                continue;
            }
            if (paused_for_room) {
                if (const Status resumed = transport_.resume(); !resumed) {
                    spdlog::warn("{}: resuming: {}", options_.name, resumed.message());
                }
                paused_for_room = false;
            }
            if (open_.empty()) first_polled = Clock::now();
            milliseconds slice = options_.poll_slice;
            if (!open_.empty()) {
                const auto left =
                    std::chrono::ceil<milliseconds>(open_since + options_.max_wait - Clock::now());
                slice = std::clamp(left, milliseconds(0), slice);
            }
            const bool was_empty = open_.empty();
            if (Status polled = poll_into_open(options_.max_messages - open_.size(), slice, open_bytes);
                !polled)
                return polled;
            if (was_empty && !open_.empty()) open_since = Clock::now();
            if (open_.empty()) continue;
            const bool full = open_.size() >= options_.max_messages || open_bytes >= options_.max_bytes;
            if (full || Clock::now() >= open_since + options_.max_wait || nothing_ahead_of_writer()) {
                admit(std::exchange(open_, {}), Clock::now() - first_polled);
                open_bytes = 0;
            }
        }
        return Status::ok();
    }

    Status poll_into_open(std::size_t max_messages, milliseconds wait, std::size_t& open_bytes) {
        const std::size_t room_bytes = options_.max_bytes > open_bytes ? options_.max_bytes - open_bytes : 1;
        Result<std::vector<kafka::Message>> polled = std::vector<kafka::Message>{};
        try {
            polled = transport_.poll(std::max<std::size_t>(max_messages, 1), room_bytes, wait);
        } catch (const std::exception& exception) {
            polled = Status::retryable_error(std::string("poll failed: ") + exception.what());
        }
        if (!polled) {
            if (polled.status().is_retryable()) {
                spdlog::warn("{}: {}", options_.name, polled.error());
                return Status::ok();
            }
            return Status::error(options_.name + ": " + polled.error());
        }
        // The transport drops what it received of a partition before its revocation.
        for (kafka::Message& message : polled.value()) {
            open_bytes += kafka::message_bytes(message);
            open_.push_back(std::move(message));
        }
        return Status::ok();
    }

    // True when a new batch may start; waits up to pause_after for room.
    bool wait_for_room() {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, options_.pause_after, [&] {
            return has_room() || stop_->requested();
        }) && has_room();
    }

    // No batch waits to be loaded or written: a batch cut now is worked on at once.
    bool nothing_ahead_of_writer() {
        std::lock_guard lock(mutex_);
        return std::none_of(batches_.begin(), batches_.end(), [](const BatchPtr& batch) {
            return batch->stage == Stage::Queued || batch->stage == Stage::Loading ||
                   batch->stage == Stage::Loaded;
        });
    }

    bool has_room() const {
        return unsettled_ == 0 || (unsettled_ < options_.max_batches_in_flight &&
                                   bytes_in_flight_ < options_.max_bytes_in_flight);
    }

    void admit(std::vector<kafka::Message> messages, Clock::duration poll_time) {
        auto batch = std::make_shared<Batch>();
        batch->messages = std::move(messages);
        batch->poll_time = poll_time;
        for (const kafka::Message& message : batch->messages) {
            batch->bytes += kafka::message_bytes(message) + sizeof(kafka::Message);
            auto& next = batch->next_offsets[message.topic_partition()];
            next = std::max(next, message.offset + 1);
            parse(*batch, message);
        }
        stats_.batches++;
        stats_.messages += batch->messages.size();
        stats_.ids += batch->plan.ids().size();
        std::lock_guard lock(mutex_);
        batch->seq = next_seq_++;
        bytes_in_flight_ += batch->bytes;
        ++unsettled_;
        batches_.push_back(std::move(batch));
        changed_.notify_all();
    }

    void parse(Batch& batch, const kafka::Message& message) {
        std::string failure;
        try {
            auto id = kafka::extract_id(message.key, message.value, options_.id_field);
            if (id) {
                batch.plan.add(&message, std::move(id.value().text));
                return;
            }
            failure = id.error();
        } catch (const std::exception& exception) {
            failure = std::string("the message could not be parsed: ") + exception.what();
        }
        batch.letters.push_back({&message, std::string(kafka::dead_letter_stage::parse), std::move(failure)});
    }

    // Stops fetching and lets the batches in flight settle, until the grace is over.
    void finish_in_flight() {
        {
            std::lock_guard lock(mutex_);
            shutting_down_ = true;
            changed_.notify_all();
        }
        while (true) {
            commit_settled();
            {
                std::unique_lock lock(mutex_);
                if (unsettled_ == 0) return;
                if (stop_->deadline_passed()) {
                    abandon_ = true;
                    write_stop_ = true;
                    changed_.notify_all();
                    return;
                }
            }
            // Keeps the membership (the partitions are paused: nothing arrives).
            std::size_t ignored_bytes = 0;
            if (!poll_into_open(1, options_.poll_slice, ignored_bytes)) {
                std::lock_guard lock(mutex_);
                abandon_ = true;
                write_stop_ = true;
                changed_.notify_all();
                return;
            }
            open_.clear();
        }
    }

    void join() {
        for (std::thread& thread : threads_) {
            if (thread.joinable()) thread.join();
        }
        threads_.clear();
    }

    std::size_t count_unsettled() {
        std::lock_guard lock(mutex_);
        return unsettled_;
    }

    // ---- committing (the caller's thread) --------------------------------

    void commit_settled() {
        std::map<kafka::TopicPartition, std::int64_t> offsets;
        {
            std::lock_guard lock(mutex_);
            std::set<kafka::TopicPartition> blocked;
            for (const BatchPtr& batch : batches_) {
                for (const auto& [partition, next] : batch->next_offsets) {
                    if (batch->revoked.contains(partition) || blocked.contains(partition)) continue;
                    if (batch->stage != Stage::Settled) {
                        blocked.insert(partition);
                        continue;
                    }
                    const auto done = committed_.find(partition);
                    if (done != committed_.end() && done->second >= next) continue;
                    auto& offset = offsets[partition];
                    offset = std::max(offset, next);
                }
            }
        }
        if (!offsets.empty()) {
            Status committed;
            try {
                committed = transport_.commit(offsets);
            } catch (const std::exception& exception) {
                committed = Status::error(exception.what());
            }
            if (!committed) {
                // Settled work only repeats after a restart when its commit fails: harmless.
                spdlog::warn("{}: committing offsets failed: {}", options_.name, committed.message());
                return;
            }
            stats_.commits++;
        }
        const auto now = Clock::now();
        const auto wall_now = std::chrono::system_clock::now();
        std::lock_guard lock(mutex_);
        for (const auto& [partition, offset] : offsets) {
            if (owned_.contains(partition)) committed_[partition] = offset;
        }
        while (!batches_.empty() && batches_.front()->stage == Stage::Settled) {
            const Batch& batch = *batches_.front();
            const bool all_committed =
                std::all_of(batch.next_offsets.begin(), batch.next_offsets.end(), [&](const auto& entry) {
                    if (batch.revoked.contains(entry.first)) return true;
                    const auto done = committed_.find(entry.first);
                    return done != committed_.end() && done->second >= entry.second;
                });
            if (!all_committed) break;
            if (!batch.dropped()) {
                metrics_.observe(metrics::BatchStage::Poll, batch.poll_time);
                metrics_.observe(metrics::BatchStage::Load, batch.loaded_at - batch.load_started);
                metrics_.observe(metrics::BatchStage::Write, batch.written_at - batch.loaded_at);
                metrics_.observe(metrics::BatchStage::Commit, now - batch.written_at);
                for (const kafka::Message& message : batch.messages) {
                    if (message.timestamp && !batch.is_revoked(message))
                        metrics_.observe_end_to_end_delay(wall_now - *message.timestamp);
                }
            }
            batches_.pop_front();
        }
    }

    // ---- reloading (`loaders` threads) -----------------------------------

    void load_loop() {
        while (true) {
            BatchPtr batch;
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] {
                    return abandon_ || next_loadable() != nullptr || (shutting_down_ && !any_queued());
                });
                if (abandon_) return;
                batch = next_loadable();
                if (!batch) return;
                batch->stage = Stage::Loading;
                for (const std::string& id : batch->plan.ids()) ++loading_ids_[id];
            }
            batch->load_started = Clock::now();
            std::optional<postgres::LoadedBatch> loaded = load_with_retry(*batch);
            std::lock_guard lock(mutex_);
            for (const std::string& id : batch->plan.ids()) {
                if (--loading_ids_[id] == 0) loading_ids_.erase(id);
            }
            if (loaded) {
                std::size_t bytes = 0;
                for (const auto& row : loaded->rows) bytes += row.document.size() + row.id.size();
                batch->bytes += bytes;
                bytes_in_flight_ += bytes;
                stats_.rows_loaded += loaded->rows.size();  // once the writer can see them
                batch->loaded = std::move(loaded);
            }
            batch->loaded_at = Clock::now();
            batch->stage = Stage::Loaded;
            changed_.notify_all();
        }
    }

    bool any_queued() const {
        return std::any_of(batches_.begin(), batches_.end(),
                           [](const BatchPtr& batch) { return batch->stage == Stage::Queued; });
    }

    // The first queued batch, unless it shares an id with a batch still loading:
    // then it waits, so that its snapshot of that id is the newer one.
    BatchPtr next_loadable() const {
        for (const BatchPtr& batch : batches_) {
            if (batch->stage != Stage::Queued) continue;
            if (batch->dropped()) return batch;  // "loaded" at once, with nothing
            for (const std::string& id : batch->plan.ids()) {
                if (loading_ids_.contains(id)) return nullptr;
            }
            return batch;
        }
        return nullptr;
    }

    // nullopt: the batch was dropped (revoked) or given up (stop deadline).
    std::optional<postgres::LoadedBatch> load_with_retry(const Batch& batch) {
        Backoff backoff(options_.retry_initial, options_.retry_max);
        while (true) {
            if (gone(batch)) return std::nullopt;
            if (batch.plan.ids().empty()) return postgres::LoadedBatch{};
            Result<postgres::LoadedBatch> result = postgres::LoadedBatch{};
            try {
                result = source_.load(batch.plan.ids());
            } catch (const std::exception& exception) {
                result = Status::retryable_error(std::string("the source threw: ") + exception.what());
            }
            if (result) {
                recovered(metrics::FailingStep::Load);
                return std::move(result.value());
            }
            stats_.load_retries++;
            const milliseconds delay = backoff.next();
            failing(metrics::FailingStep::Load,
                    "loading rows from " + source_.name() + " failed: " + result.error(), delay);
            wait_unless_gone(batch, delay);
        }
    }

    bool gone(const Batch& batch) {
        std::lock_guard lock(mutex_);
        return abandon_ || batch.dropped();
    }

    void wait_unless_gone(const Batch& batch, milliseconds delay) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, delay, [&] { return abandon_ || batch.dropped(); });
    }

    // ---- writing (one thread) --------------------------------------------

    // Takes every batch that is loaded and next in order, and writes them with
    // one call of the sink: a sink spreads a call's ops over its parallel
    // requests, so several small batches keep it as busy as one large one.
    void write_loop() {
        while (true) {
            std::vector<BatchPtr> group;
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] {
                    return abandon_ || next_writable(next_write_seq_) != nullptr ||
                           (shutting_down_ && unsettled_ == 0);
                });
                if (abandon_) return;
                for (BatchPtr batch = next_writable(next_write_seq_); batch;
                     batch = next_writable(batch->seq + 1)) {
                    batch->stage = Stage::Writing;
                    group.push_back(batch);
                }
                if (group.empty()) return;
                writing_ = group;
            }
            const bool settled = write_group(group);
            std::lock_guard lock(mutex_);
            writing_.clear();
            if (!settled) return;  // given up: the stop's grace is over
            const auto now = Clock::now();
            for (const BatchPtr& batch : group) {
                batch->written_at = now;
                batch->stage = Stage::Settled;
                bytes_in_flight_ -= batch->bytes;
                --unsettled_;
                ++next_write_seq_;
            }
            changed_.notify_all();
        }
    }

    BatchPtr next_writable(std::uint64_t seq) const {
        for (const BatchPtr& batch : batches_) {
            if (batch->seq != seq) continue;
            return batch->stage == Stage::Loaded ? batch : nullptr;
        }
        return nullptr;
    }

    struct Op {
        plugin::SinkOp op;
        Batch* batch;
        const std::vector<std::size_t>* requests;  // positions in the batch plan's ids
        plugin::SinkResult result;
    };

    // Writes, flushes and dead-letters consecutive batches. False when they were given up.
    bool write_group(const std::vector<BatchPtr>& group) {
        std::vector<Op> ops;
        for (const BatchPtr& batch : group) {
            if (!batch->loaded) continue;  // dropped while loading: nothing to write
            const postgres::LoadedBatch& loaded = *batch->loaded;
            for (const postgres::InvalidId& invalid : loaded.invalid) {
                for (const kafka::Message* message : batch->plan.messages_of(invalid.request_index)) {
                    batch->letters.push_back(
                        {message, std::string(kafka::dead_letter_stage::id_type), invalid.reason});
                }
            }
            ops.reserve(ops.size() + loaded.rows.size() + loaded.missing.size());
            for (const postgres::FoundRow& row : loaded.rows) {
                ops.push_back({{plugin::OpKind::Upsert, row.id, row.document, row.version, {}},
                               batch.get(),
                               &row.request_indexes,
                               {}});
            }
            for (const postgres::MissingId& missing : loaded.missing) {
                ops.push_back({{plugin::OpKind::Delete, missing.id, {}, missing.version, {}},
                               batch.get(),
                               &missing.request_indexes,
                               {}});
            }
        }
        if (!ops.empty() && !write_ops(ops)) return false;
        if (ops.empty() && abandoned()) return false;

        std::size_t upserts = 0, deletes = 0;
        for (const Op& op : ops) {
            if (op.result.status == plugin::OpStatus::Ok) {
                (op.op.kind == plugin::OpKind::Upsert ? upserts : deletes)++;
                (op.op.kind == plugin::OpKind::Upsert ? op.batch->upserts : op.batch->deletes)++;
                continue;
            }
            if (op.result.status != plugin::OpStatus::Reject) continue;  // revoked before it settled
            std::string reason =
                fmt::format("sink {} rejected {} of id {}: {}", sink_.name(),
                            op.op.kind == plugin::OpKind::Upsert ? "the upsert" : "the delete", op.op.id,
                            op.result.message);
            if (op.result.native_code != 0) reason += fmt::format(" (code {})", op.result.native_code);
            for (std::size_t request : *op.requests) {
                for (const kafka::Message* message : op.batch->plan.messages_of(request)) {
                    op.batch->letters.push_back(
                        {message, std::string(kafka::dead_letter_stage::sink_reject), reason});
                }
            }
        }
        stats_.upserts += upserts;
        stats_.deletes += deletes;
        if (!publish_dead_letters(group)) return false;
        if (spdlog::should_log(spdlog::level::debug)) {
            for (const BatchPtr& batch : group) {
                spdlog::debug(
                    "{}: batch {}: {} messages, {} ids: {} upserts, {} deletes, {} dead letters; load {} ms; "
                    "written with {} other batch(es)",
                    options_.name, batch->seq, batch->messages.size(), batch->plan.ids().size(),
                    batch->upserts, batch->deletes, batch->letters.size(),
                    ms(batch->loaded_at - batch->load_started), group.size() - 1);
            }
        }
        return true;
    }

    // Every op of a partition still owned ends OK or REJECT; the sink flushed.
    bool write_ops(std::vector<Op>& ops) {
        Backoff backoff(options_.retry_initial, options_.retry_max);
        while (true) {
            std::vector<std::size_t> pending;
            {
                std::lock_guard lock(mutex_);
                for (std::size_t i = 0; i < ops.size(); ++i) {
                    if (ops[i].result.status != plugin::OpStatus::Retry) continue;
                    if (still_wanted(*ops[i].batch, *ops[i].requests)) pending.push_back(i);
                }
            }
            if (pending.empty()) {
                Status flushed;
                try {
                    flushed = sink_.flush();
                } catch (const std::exception& exception) {
                    flushed = Status::error(std::string("flush threw: ") + exception.what());
                }
                if (flushed) {
                    recovered(metrics::FailingStep::Sink);
                    return true;
                }
                // What the sink did not make durable is written again.
                for (Op& op : ops) op.result = {};
                const milliseconds delay = backoff.next();
                failing(metrics::FailingStep::Sink, "the sink's flush failed: " + flushed.message(), delay);
                if (!wait_or_abandon(delay)) return false;
                continue;
            }
            std::vector<plugin::SinkOp> attempt;
            attempt.reserve(pending.size());
            for (std::size_t index : pending) attempt.push_back(ops[index].op);
            const bool interrupted = write_once(attempt, pending, ops);
            if (abandoned()) return false;
            std::size_t retrying = 0;
            std::string reason;
            for (std::size_t index : pending) {
                if (ops[index].result.status != plugin::OpStatus::Retry) continue;
                ++retrying;
                if (reason.empty()) reason = ops[index].result.message;
            }
            if (retrying == 0 || interrupted) continue;  // an interrupting revocation is no failure
            // Counted as they happen, so that the metric moves during an outage.
            stats_.sink_retries += retrying;
            const milliseconds delay = backoff.next();
            failing(metrics::FailingStep::Sink,
                    fmt::format("the sink asks to retry {} op(s): {}", retrying, reason), delay);
            if (!wait_or_abandon(delay)) return false;
        }
    }

    // One call of the sink; true when a revocation interrupted it.
    bool write_once(std::span<const plugin::SinkOp> attempt, const std::vector<std::size_t>& pending,
                    std::vector<Op>& ops) {
        plugin::WriteControl control;
        control.stop = &write_stop_;
        control.deadline = stop_->deadline();  // a stop's grace bounds the write in hand
        {
            std::lock_guard lock(mutex_);
            write_in_call_ = true;
        }
        std::vector<plugin::SinkResult> results;
        try {
            results = sink_.write(attempt, control);
            if (results.size() != attempt.size()) {
                const std::string wrong =
                    fmt::format("the sink returned {} results for {} ops", results.size(), attempt.size());
                results.assign(attempt.size(), plugin::SinkResult{plugin::OpStatus::Retry, 0, wrong});
            }
        } catch (const std::exception& exception) {
            results.assign(attempt.size(),
                           plugin::SinkResult{plugin::OpStatus::Retry, 0,
                                              std::string("the sink threw: ") + exception.what()});
        }
        guard_.review(attempt, results);  // many rejects of one reason: held, not dead-lettered
        for (std::size_t i = 0; i < pending.size(); ++i) ops[pending[i]].result = std::move(results[i]);
        std::lock_guard lock(mutex_);
        write_in_call_ = false;
        const bool interrupted = write_stop_.load() && !abandon_;
        if (interrupted) write_stop_ = false;
        changed_.notify_all();
        return interrupted;
    }

    // An op is still wanted while one of the messages that named its id belongs
    // to a partition that was not revoked.
    static bool still_wanted(const Batch& batch, const std::vector<std::size_t>& requests) {
        if (batch.revoked.empty()) return true;
        return std::any_of(requests.begin(), requests.end(), [&](std::size_t request) {
            const auto& messages = batch.plan.messages_of(request);
            return std::any_of(messages.begin(), messages.end(),
                               [&](const kafka::Message* message) { return !batch.is_revoked(*message); });
        });
    }

    bool publish_dead_letters(const std::vector<BatchPtr>& group) {
        Backoff backoff(options_.retry_initial, options_.retry_max);
        while (true) {
            std::vector<kafka::DeadLetter> letters;
            {
                std::lock_guard lock(mutex_);
                for (const BatchPtr& batch : group) {
                    for (const kafka::DeadLetter& letter : batch->letters) {
                        if (!batch->is_revoked(*letter.original)) letters.push_back(letter);
                    }
                }
            }
            if (letters.empty()) return true;
            Status published;
            try {
                published = dead_letters_.publish(letters);
            } catch (const std::exception& exception) {
                published = Status::error(std::string("publishing dead letters threw: ") + exception.what());
            }
            if (published) {
                recovered(metrics::FailingStep::DeadLetter);
                stats_.dead_letters += letters.size();
                for (const kafka::DeadLetter& letter : letters) metrics_.dead_lettered(letter.stage);
                return true;
            }
            stats_.dead_letter_retries++;
            const milliseconds delay = backoff.next();
            failing(metrics::FailingStep::DeadLetter, "writing dead letters failed: " + published.message(),
                    delay);
            if (!wait_or_abandon(delay)) return false;
        }
    }

    bool abandoned() {
        std::lock_guard lock(mutex_);
        return abandon_;
    }

    // Waits `delay` unless the stop's grace runs out first; false then.
    bool wait_or_abandon(milliseconds delay) {
        std::unique_lock lock(mutex_);
        return !changed_.wait_for(lock, delay, [&] { return abandon_; });
    }

    // ---- failure state: metrics, stats and the outage log ------------------

    void failing(metrics::FailingStep step, const std::string& reason, milliseconds delay) {
        std::lock_guard lock(failure_mutex_);
        auto& state = failures_[static_cast<std::size_t>(step)];
        const auto now = Clock::now();
        if (!state.failing) {
            state.failing = true;
            state.since = now;
            state.last_logged = {};
        }
        metrics_.paused(step);
        stats_.paused = true;
        stats_.pause_reason.set(reason);
        if (now - state.last_logged >= kRepeatLogInterval) {
            spdlog::warn("{}: {}; paused for {} s so far, next try in {} ms", options_.name, reason,
                         std::chrono::duration_cast<std::chrono::seconds>(now - state.since).count(),
                         delay.count());
            state.last_logged = now;
        }
    }

    void recovered(metrics::FailingStep step) {
        std::lock_guard lock(failure_mutex_);
        auto& state = failures_[static_cast<std::size_t>(step)];
        if (!state.failing) return;
        state.failing = false;
        spdlog::info("{}: resumed after {} s ({} works again)", options_.name,
                     std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - state.since).count(),
                     metrics::to_string(step));
        for (const metrics::FailingStep other : kFailingSteps) {
            if (failures_[static_cast<std::size_t>(other)].failing) {
                metrics_.paused(other);
                return;
            }
        }
        metrics_.resumed();
        stats_.paused = false;
        stats_.pause_reason.set({});
    }

    struct FailureState {
        bool failing = false;
        Clock::time_point since{};
        Clock::time_point last_logged{};
    };

    EngineOptions options_;
    IdTransport& transport_;
    RowSource& source_;
    DocumentSink& sink_;
    DeadLetterOutput& dead_letters_;
    PipelineStats& stats_;
    metrics::PipelineMetrics& metrics_;
    RejectGuard guard_;  // the writing thread's
    StopSignal* stop_ = nullptr;
    std::vector<std::thread> threads_;

    // The fetching thread's own: the batch being filled.
    std::vector<kafka::Message> open_;

    std::mutex mutex_;  // guards everything below
    std::condition_variable changed_;
    std::deque<BatchPtr> batches_;  // in order, until committed
    std::uint64_t next_seq_ = 0;
    std::uint64_t next_write_seq_ = 0;
    std::size_t unsettled_ = 0;
    std::size_t bytes_in_flight_ = 0;
    std::unordered_map<std::string, int> loading_ids_;
    std::set<kafka::TopicPartition> owned_;
    std::map<kafka::TopicPartition, std::int64_t> committed_;
    std::vector<BatchPtr> writing_;  // the batches of the write in progress
    bool write_in_call_ = false;
    std::atomic<bool> write_stop_{false};
    bool shutting_down_ = false;
    bool abandon_ = false;

    std::mutex failure_mutex_;
    std::array<FailureState, kFailingSteps.size()> failures_{};
};

BatchEngine::BatchEngine(EngineOptions options, IdTransport& transport, RowSource& source, DocumentSink& sink,
                         DeadLetterOutput& dead_letters, PipelineStats& stats,
                         metrics::PipelineMetrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), transport, source, sink, dead_letters, stats,
                                   metrics)) {}
BatchEngine::~BatchEngine() = default;

Status BatchEngine::run(StopSignal& stop) {
    return impl_->run(stop);
}
void BatchEngine::on_assigned(const std::vector<kafka::TopicPartition>& partitions) {
    impl_->on_assigned(partitions);
}
void BatchEngine::on_revoked(const std::vector<kafka::TopicPartition>& partitions, bool lost) {
    impl_->on_revoked(partitions, lost);
}

}  // namespace indexer::pipeline
