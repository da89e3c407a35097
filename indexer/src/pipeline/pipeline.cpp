#include <indexer/pipeline/pipeline.hpp>

#include <indexer/config/sql.hpp>
#include <indexer/kafka/consumer.hpp>
#include <indexer/kafka/dead_letter.hpp>
#include <indexer/kafka/message_id.hpp>
#include <indexer/kafka/producer.hpp>
#include <indexer/metrics/pipeline_metrics.hpp>
#include <indexer/pipeline/batch_plan.hpp>
#include <indexer/pipeline/sink_writer.hpp>
#include <indexer/postgres/batch_loader.hpp>
#include <indexer/util/backoff.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace indexer::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollWhilePaused{200};
// A failure that goes on is logged again at most this often.
constexpr auto kRepeatLogInterval = std::chrono::seconds(30);

kafka::ClientOptions client_options(const config::Config& config) {
    return kafka::ClientOptions{config.kafka.brokers, config.kafka.client_id, config.kafka.properties};
}

postgres::Source source_of(const config::PipelineConfig& pipeline) {
    const std::string id_column = config::quote_sql_identifier(pipeline.source.id_column);
    if (pipeline.source.table) return postgres::TableSource{pipeline.source.table->quoted(), id_column};
    return postgres::QuerySource{*pipeline.source.query, id_column};
}

template <class Duration>
long long ms(Duration duration) {
    return std::chrono::duration_cast<milliseconds>(duration).count();
}

}  // namespace

class Pipeline::Impl {
public:
    Impl(const config::PipelineConfig& pipeline, std::unique_ptr<kafka::Producer> producer,
         std::unique_ptr<plugin::SinkHandle> sink, postgres::BatchLoader loader, metrics::Registry* registry)
        : config_(pipeline),
          producer_(std::move(producer)),
          dead_letters_(*producer_, pipeline.dead_letter_topic, pipeline.name),
          sink_(std::move(sink)),
          loader_(std::move(loader)),
          writer_(*sink_, Backoff(pipeline.retry.initial, pipeline.retry.max)),
          backoff_(pipeline.retry.initial, pipeline.retry.max),
          metrics_(registry != nullptr ? *registry : own_registry_, pipeline.name, stats_) {}

    Status connect(const config::Config& config) {
        kafka::ConsumerOptions options{client_options(config), config_.name, config_.topic,
                                       static_cast<std::size_t>(config_.batch.max_messages),
                                       config_.batch.max_wait};
        kafka::RebalanceHooks hooks;
        hooks.on_assigned = [this](const std::vector<kafka::TopicPartition>& partitions) {
            spdlog::info("{}: assigned {}", config_.name, kafka::to_string(partitions));
            stats_.assigned_partitions += static_cast<std::int64_t>(partitions.size());
            stats_.group_joined = true;
        };
        hooks.on_revoked = [this](const std::vector<kafka::TopicPartition>& partitions, bool lost) {
            on_revoked(partitions, lost);
        };
        auto consumer = kafka::Consumer::create(std::move(options), std::move(hooks));
        if (!consumer) return Status::error(config_.name + ": Kafka consumer: " + consumer.error());
        consumer_ = std::move(consumer.value());
        return Status::ok();
    }

    Status run(StopSignal& stop) {
        stop_ = &stop;
        spdlog::info("{}: consuming {} (group {}), sink {}, dead letters to {}", config_.name, config_.topic,
                     config_.name, sink_->plugin().info().name, config_.dead_letter_topic);
        Status result;
        while (!stop.requested()) {
            const auto poll_started = Clock::now();
            auto polled = consumer_->poll_batch();
            if (!polled) {
                result = Status::error(config_.name + ": " + polled.error());
                break;
            }
            std::vector<kafka::Message> batch = take_held();
            for (auto& message : polled.value()) batch.push_back(std::move(message));
            if (batch.empty()) continue;
            metrics_.observe(metrics::BatchStage::Poll, Clock::now() - poll_started);
            process(std::move(batch));
        }
        if (const Status closed = consumer_->close(); !closed) {
            spdlog::warn("{}: leaving the group: {}", config_.name, closed.message());
        }
        spdlog::info("{}: stopped after {} messages in {} batches", config_.name, stats_.messages.load(),
                     stats_.batches.load());
        return result;
    }

    const std::string& name() const noexcept { return config_.name; }
    const PipelineStats& stats() const noexcept { return stats_; }

private:
    // One batch, from ids to commit. Returns without committing when it was
    // given up (stop deadline, or its partitions went to another member).
    void process(std::vector<kafka::Message> batch) {
        batch_ = &batch;
        revoked_.clear();
        stats_.batches++;
        stats_.messages += batch.size();
        const auto started = Clock::now();

        BatchPlan plan;
        std::vector<kafka::DeadLetter> letters;
        for (const kafka::Message& message : batch) {
            auto id = kafka::extract_id(message.key, message.value, config_.id_field);
            if (id) {
                plan.add(&message, std::move(id.value().text));
            } else {
                letters.push_back({&message, std::string(kafka::dead_letter_stage::parse), id.error()});
            }
        }
        stats_.ids += plan.ids().size();

        // Reload: one query for the whole batch, again and again while the
        // database is unreachable.
        std::optional<postgres::LoadedBatch> loaded;
        backoff_.reset();
        while (!loaded) {
            auto result = loader_.load(plan.ids());
            if (result) {
                loaded = std::move(result.value());
                break;
            }
            stats_.load_retries++;
            if (!wait_paused(metrics::FailingStep::Load, backoff_.next(),
                             "loading rows from PostgreSQL failed: " + result.error())) {
                return give_up(batch);
            }
        }
        const auto load_done = Clock::now();
        stats_.rows_loaded += loaded->rows.size();
        for (const postgres::InvalidId& invalid : loaded->invalid) {
            for (const kafka::Message* message : plan.messages_of(invalid.request_index)) {
                letters.push_back({message, std::string(kafka::dead_letter_stage::id_type), invalid.reason});
            }
        }

        // Rows found become upserts, ids the query did not return deletes.
        std::vector<plugin::SinkOp> ops;
        std::vector<const std::vector<std::size_t>*> op_requests;
        ops.reserve(loaded->rows.size() + loaded->missing.size());
        for (const postgres::FoundRow& row : loaded->rows) {
            ops.push_back({plugin::OpKind::Upsert, row.id, row.document, row.version, {}});
            op_requests.push_back(&row.request_indexes);
        }
        for (const postgres::MissingId& missing : loaded->missing) {
            ops.push_back({plugin::OpKind::Delete, missing.id, {}, 0, {}});
            op_requests.push_back(&missing.request_indexes);
        }

        WriteOutcome written;
        if (!ops.empty()) {
            written = writer_.write(ops, [this](milliseconds delay, const std::string& reason,
                                                std::size_t retrying) {
                // Counted as they happen, so that the metric moves during an outage.
                stats_.sink_retries += retrying;
                return wait_paused(metrics::FailingStep::Sink, delay, "the sink asks to retry: " + reason);
            });
            if (written.abandoned) return give_up(batch);
        }
        const auto write_done = Clock::now();
        std::size_t upserts = 0, deletes = 0;
        for (std::size_t i = 0; i < ops.size(); ++i) {
            const plugin::SinkResult& result = written.results[i];
            if (result.status == plugin::OpStatus::Ok) {
                (ops[i].kind == plugin::OpKind::Upsert ? upserts : deletes)++;
                continue;
            }
            std::string reason =
                fmt::format("sink {} rejected {} of id {}: {}", sink_->plugin().info().name,
                            ops[i].kind == plugin::OpKind::Upsert ? "the upsert" : "the delete", ops[i].id,
                            result.message);
            if (result.native_code != 0) reason += fmt::format(" (code {})", result.native_code);
            for (std::size_t request : *op_requests[i]) {
                for (const kafka::Message* message : plan.messages_of(request)) {
                    letters.push_back({message, std::string(kafka::dead_letter_stage::sink_reject), reason});
                }
            }
        }
        stats_.upserts += upserts;
        stats_.deletes += deletes;

        // Dead letters must be acknowledged before the offsets that carried them move.
        if (!letters.empty()) {
            // The publisher logs each dead letter once, with where it came from and why.
            backoff_.reset();
            while (true) {
                const Status published = dead_letters_.publish(letters);
                if (published) break;
                stats_.dead_letter_retries++;
                if (!wait_paused(metrics::FailingStep::DeadLetter, backoff_.next(),
                                 "writing dead letters failed: " + published.message())) {
                    return give_up(batch);
                }
            }
            stats_.dead_letters += letters.size();
            for (const kafka::DeadLetter& letter : letters) metrics_.dead_lettered(letter.stage);
        }

        resume_if_paused();
        commit(batch);
        const auto done = Clock::now();
        metrics_.observe(metrics::BatchStage::Load, load_done - started);
        metrics_.observe(metrics::BatchStage::Write, write_done - load_done);
        metrics_.observe(metrics::BatchStage::Commit, done - write_done);
        spdlog::debug(
            "{}: {} messages, {} ids: {} upserts, {} deletes, {} dead letters; load {} ms, write {} ms, "
            "commit {} ms",
            config_.name, batch.size(), plan.ids().size(), upserts, deletes, letters.size(),
            ms(load_done - started), ms(write_done - load_done), ms(done - write_done));
        batch_ = nullptr;
    }

    void commit(const std::vector<kafka::Message>& batch) {
        std::map<kafka::TopicPartition, std::int64_t> offsets;
        for (const auto& [partition, offset] : kafka::next_offsets(batch)) {
            // A partition handed to another member during the batch is not ours to commit.
            if (consumer_->owns(partition) && !revoked_.contains(partition))
                offsets.emplace(partition, offset);
        }
        if (offsets.empty()) return;
        if (const Status committed = consumer_->commit(offsets); !committed) {
            // The messages are processed; a failed commit only means they may be
            // processed again after a restart, which writes the same truth.
            spdlog::warn("{}: committing offsets failed: {}", config_.name, committed.message());
            return;
        }
        stats_.commits++;
        const auto now = std::chrono::system_clock::now();
        for (const kafka::Message& message : batch) {
            if (message.timestamp && offsets.contains(message.topic_partition()))
                metrics_.observe_end_to_end_delay(now - *message.timestamp);
        }
    }

    void give_up(const std::vector<kafka::Message>& batch) {
        resume_if_paused();
        spdlog::warn("{}: gave up a batch of {} messages without committing it ({})", config_.name,
                     batch.size(), stop_->requested() ? "stopping" : "its partitions were revoked");
        batch_ = nullptr;
    }

    // Waits `delay` with the partitions paused, polling so that the consumer
    // stays in its group. False: give the batch up.
    bool wait_paused(metrics::FailingStep step, milliseconds delay, const std::string& reason) {
        const auto now = Clock::now();
        metrics_.paused(step);
        if (!stats_.paused.load()) {
            if (const Status paused = consumer_->pause(); !paused) {
                spdlog::warn("{}: pausing: {}", config_.name, paused.message());
            }
            stats_.paused = true;
            outage_started_ = now;
            last_outage_log_ = {};
        }
        if (now - last_outage_log_ >= kRepeatLogInterval) {
            spdlog::warn("{}: {}; partitions paused for {} s so far, next try in {} ms", config_.name, reason,
                         std::chrono::duration_cast<std::chrono::seconds>(now - outage_started_).count(),
                         delay.count());
            last_outage_log_ = now;
        }
        const auto until = now + delay;
        while (true) {
            if (stop_->deadline_passed() || batch_revoked()) return false;
            const auto left = until - Clock::now();
            if (left <= milliseconds(0)) return true;
            auto polled = consumer_->poll_batch(
                config_.batch.max_messages,
                std::min(kPollWhilePaused, std::chrono::duration_cast<milliseconds>(left + milliseconds(1))));
            if (polled) {
                // Nothing should arrive while paused; whatever does is kept for later.
                for (auto& message : polled.value()) held_.push_back(std::move(message));
            }
        }
    }

    void resume_if_paused() {
        if (!stats_.paused.load()) return;
        if (const Status resumed = consumer_->resume(); !resumed) {
            spdlog::warn("{}: resuming: {}", config_.name, resumed.message());
        }
        stats_.paused = false;
        metrics_.resumed();
        spdlog::info(
            "{}: resumed after {} s", config_.name,
            std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - outage_started_).count());
    }

    // Runs inside poll_batch(), before the revocation completes: the batch in
    // hand is not committed for these partitions, and held messages of them are
    // dropped (their new owner reads them again from the committed offset).
    void on_revoked(const std::vector<kafka::TopicPartition>& partitions, bool lost) {
        spdlog::info("{}: {} {}", config_.name, lost ? "lost" : "revoked", kafka::to_string(partitions));
        for (const auto& partition : partitions) revoked_.insert(partition);
        stats_.assigned_partitions -= static_cast<std::int64_t>(partitions.size());
        std::erase_if(held_, [&](const kafka::Message& message) {
            return std::find(partitions.begin(), partitions.end(), message.topic_partition()) !=
                   partitions.end();
        });
    }

    bool batch_revoked() const {
        if (batch_ == nullptr || revoked_.empty()) return false;
        return std::all_of(batch_->begin(), batch_->end(), [&](const kafka::Message& message) {
            return revoked_.contains(message.topic_partition());
        });
    }

    std::vector<kafka::Message> take_held() {
        std::vector<kafka::Message> held;
        held.swap(held_);
        return held;
    }

    config::PipelineConfig config_;
    std::unique_ptr<kafka::Consumer> consumer_;
    std::unique_ptr<kafka::Producer> producer_;
    kafka::DeadLetterPublisher dead_letters_;
    std::unique_ptr<plugin::SinkHandle> sink_;
    postgres::BatchLoader loader_;
    SinkWriter writer_;
    Backoff backoff_;
    PipelineStats stats_;
    metrics::Registry own_registry_;  // when the caller keeps no metrics
    metrics::PipelineMetrics metrics_;

    StopSignal* stop_ = nullptr;
    const std::vector<kafka::Message>* batch_ = nullptr;
    std::set<kafka::TopicPartition> revoked_;
    std::vector<kafka::Message> held_;
    Clock::time_point outage_started_{};
    Clock::time_point last_outage_log_{};
};

Result<std::unique_ptr<Pipeline>> Pipeline::create(const config::Config& config,
                                                   const config::PipelineConfig& pipeline,
                                                   const plugin::PluginLoader& plugins,
                                                   metrics::Registry* metrics) {
    auto plugin = plugins.load(pipeline.sink.plugin);
    if (!plugin) return Status::error(pipeline.name + ": sink plugin: " + plugin.error());
    auto sink = plugin.value()->open(pipeline.name, pipeline.sink.config.dump());
    if (!sink) return Status::error(pipeline.name + ": sink " + pipeline.sink.plugin + ": " + sink.error());

    postgres::BatchLoaderOptions options;
    options.pipeline = pipeline.name;
    options.url = config.postgres.url;
    options.source = source_of(pipeline);
    options.pool_size = static_cast<std::size_t>(std::max(1, config.postgres.pool_size));
    auto loader = postgres::BatchLoader::create(std::move(options));
    if (!loader) return loader.status();  // names the pipeline; retryable when the database is down

    auto producer = kafka::Producer::create(client_options(config));
    if (!producer) return Status::error(pipeline.name + ": Kafka producer: " + producer.error());

    auto impl = std::make_unique<Impl>(pipeline, std::move(producer.value()),
                                       std::make_unique<plugin::SinkHandle>(std::move(sink.value())),
                                       std::move(loader.value()), metrics);
    INDEXER_RETURN_IF_ERROR(impl->connect(config));
    return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() = default;
Status Pipeline::run(StopSignal& stop) {
    return impl_->run(stop);
}
const std::string& Pipeline::name() const noexcept {
    return impl_->name();
}
const PipelineStats& Pipeline::stats() const noexcept {
    return impl_->stats();
}

}  // namespace indexer::pipeline
