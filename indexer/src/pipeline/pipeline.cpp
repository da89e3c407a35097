#include <indexer/pipeline/pipeline.hpp>

#include <indexer/config/sql.hpp>
#include <indexer/kafka/consumer.hpp>
#include <indexer/kafka/dead_letter.hpp>
#include <indexer/kafka/message_id.hpp>
#include <indexer/kafka/producer.hpp>
#include <indexer/metrics/pipeline_metrics.hpp>
#include <indexer/pipeline/batch_engine.hpp>
#include <indexer/postgres/batch_loader.hpp>
#include <indexer/postgres/connection_limits.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace indexer::pipeline {
namespace {

using std::chrono::milliseconds;

kafka::ClientOptions client_options(const config::Config& config) {
    return kafka::ClientOptions{config.kafka.brokers, config.kafka.client_id, config.kafka.properties};
}

// The share of the memory budget given to librdkafka's prefetch queue.
std::uint64_t prefetch_bytes(const config::PipelineConfig& pipeline) {
    return pipeline.memory_budget / 4;
}

// The engine's interfaces over the product's parts.
class KafkaTransport final : public IdTransport {
public:
    void attach(std::unique_ptr<kafka::Consumer> consumer) { consumer_ = std::move(consumer); }
    kafka::Consumer& consumer() { return *consumer_; }

    Result<std::vector<kafka::Message>> poll(std::size_t max_messages, std::size_t max_bytes,
                                             milliseconds max_wait) override {
        return consumer_->poll_batch(max_messages, max_wait, max_bytes, true);
    }
    Status commit(const std::map<kafka::TopicPartition, std::int64_t>& next_offsets) override {
        return consumer_->commit(next_offsets);
    }
    Status pause() override { return consumer_->pause(); }
    Status resume() override { return consumer_->resume(); }

private:
    std::unique_ptr<kafka::Consumer> consumer_;
};

class PostgresSource final : public RowSource {
public:
    explicit PostgresSource(postgres::BatchLoader loader) : loader_(std::move(loader)) {}
    std::string name() const override { return "PostgreSQL"; }
    Result<postgres::LoadedBatch> load(std::span<const std::string> ids) override {
        return loader_.load(ids);
    }

private:
    postgres::BatchLoader loader_;
};

class PluginSink final : public DocumentSink {
public:
    explicit PluginSink(std::unique_ptr<plugin::SinkHandle> handle) : handle_(std::move(handle)) {}
    std::string name() const override { return handle_->plugin().info().name; }
    std::vector<plugin::SinkResult> write(std::span<const plugin::SinkOp> ops,
                                          const plugin::WriteControl& control) override {
        return handle_->write(ops, control);
    }
    Status flush() override { return handle_->flush(); }

private:
    std::unique_ptr<plugin::SinkHandle> handle_;
};

class KafkaDeadLetters final : public DeadLetterOutput {
public:
    KafkaDeadLetters(std::unique_ptr<kafka::Producer> producer, std::string topic, std::string pipeline,
                     PipelineStats& stats)
        : producer_(std::move(producer)),
          publisher_(*producer_, std::move(topic), std::move(pipeline)),
          stats_(stats) {}
    Status publish(const std::vector<kafka::DeadLetter>& letters) override {
        Status published = publisher_.publish(letters);
        stats_.dead_letters_lost = publisher_.lost();
        return published;
    }

private:
    std::unique_ptr<kafka::Producer> producer_;
    kafka::DeadLetterPublisher publisher_;
    PipelineStats& stats_;
};

EngineOptions engine_options(const config::Config& config, const config::PipelineConfig& pipeline) {
    EngineOptions options;
    options.name = pipeline.name;
    options.id_field = pipeline.id_field;
    options.max_messages = static_cast<std::size_t>(pipeline.batch.max_messages);
    options.max_bytes = static_cast<std::size_t>(pipeline.batch.max_bytes);
    options.max_wait = std::chrono::duration_cast<milliseconds>(pipeline.batch.max_wait);
    options.max_batches_in_flight = static_cast<std::size_t>(pipeline.batch.in_flight);
    options.max_bytes_in_flight = static_cast<std::size_t>(pipeline.memory_budget - prefetch_bytes(pipeline));
    options.loaders = static_cast<std::size_t>(std::min(config.postgres.pool_size, pipeline.batch.in_flight));
    options.retry_initial = std::chrono::duration_cast<milliseconds>(pipeline.retry.initial);
    options.retry_max = std::chrono::duration_cast<milliseconds>(pipeline.retry.max);
    options.pause_after_same_rejects = static_cast<std::size_t>(pipeline.pause_after_same_rejects);
    return options;
}

}  // namespace

class Pipeline::Impl {
public:
    Impl(const config::Config& config, const config::PipelineConfig& pipeline,
         std::unique_ptr<kafka::Producer> producer, std::unique_ptr<plugin::SinkHandle> sink,
         postgres::BatchLoader loader, metrics::Registry* registry)
        : config_(pipeline),
          sink_name_(sink->plugin().info().name),
          dead_letters_(std::move(producer), pipeline.dead_letter_topic, pipeline.name, stats_),
          sink_(std::move(sink)),
          source_(std::move(loader)),
          metrics_(registry != nullptr ? *registry : own_registry_, pipeline.name, stats_),
          engine_(engine_options(config, pipeline), transport_, source_, sink_, dead_letters_, stats_,
                  metrics_) {}

    Status connect(const config::Config& config) {
        kafka::ClientOptions client = client_options(config);
        // librdkafka's prefetch is part of the pipeline's memory budget.
        client.properties.try_emplace("queued.max.messages.kbytes", std::to_string(std::max<std::uint64_t>(
                                                                        prefetch_bytes(config_) / 1024, 1)));
        client.properties.try_emplace("queued.min.messages",
                                      std::to_string(std::max(1000, 2 * config_.batch.max_messages)));
        kafka::ConsumerOptions options{std::move(client), config_.name, config_.topic,
                                       static_cast<std::size_t>(config_.batch.max_messages),
                                       config_.batch.max_wait};
        kafka::RebalanceHooks hooks;
        hooks.on_assigned = [this](const std::vector<kafka::TopicPartition>& partitions) {
            engine_.on_assigned(partitions);
        };
        hooks.on_revoked = [this](const std::vector<kafka::TopicPartition>& partitions, bool lost) {
            engine_.on_revoked(partitions, lost);
        };
        auto consumer = kafka::Consumer::create(std::move(options), std::move(hooks));
        if (!consumer) return Status::error(config_.name + ": Kafka consumer: " + consumer.error());
        transport_.attach(std::move(consumer.value()));
        return Status::ok();
    }

    Status run(StopSignal& stop) {
        spdlog::info("{}: consuming {} (group {}), sink {}, dead letters to {}; {} batch(es) in flight",
                     config_.name, config_.topic, config_.name, sink_name_, config_.dead_letter_topic,
                     config_.batch.in_flight);
        Status result = engine_.run(stop);
        if (const Status closed = transport_.consumer().close(); !closed) {
            spdlog::warn("{}: leaving the group: {}", config_.name, closed.message());
        }
        spdlog::info("{}: stopped after {} messages in {} batches", config_.name, stats_.messages.load(),
                     stats_.batches.load());
        return result;
    }

    const std::string& name() const noexcept { return config_.name; }
    const PipelineStats& stats() const noexcept { return stats_; }

private:
    config::PipelineConfig config_;
    std::string sink_name_;
    PipelineStats stats_;
    KafkaDeadLetters dead_letters_;
    PluginSink sink_;
    PostgresSource source_;
    KafkaTransport transport_;
    metrics::Registry own_registry_;  // when the caller keeps no metrics
    metrics::PipelineMetrics metrics_;
    BatchEngine engine_;
};

postgres::BatchLoaderOptions loader_options(const config::Config& config,
                                            const config::PipelineConfig& pipeline) {
    postgres::BatchLoaderOptions options;
    options.pipeline = pipeline.name;
    options.url = config.postgres.url;
    const std::string id_column = config::quote_sql_identifier(pipeline.source.id_column);
    if (pipeline.source.table) {
        options.source = postgres::TableSource{pipeline.source.table->quoted(), id_column};
    } else {
        options.source = postgres::QuerySource{*pipeline.source.query, id_column};
    }
    options.version = pipeline.source.version.value_or("");
    options.pool_size = static_cast<std::size_t>(std::max(1, config.postgres.pool_size));
    options.limits = postgres::connection_limits(config.postgres);
    return options;
}

Result<std::unique_ptr<Pipeline>> Pipeline::create(const config::Config& config,
                                                   const config::PipelineConfig& pipeline,
                                                   const plugin::PluginLoader& plugins,
                                                   metrics::Registry* metrics) {
    auto plugin = plugins.load(pipeline.sink.plugin);
    if (!plugin) return Status::error(pipeline.name + ": sink plugin: " + plugin.error());
    auto sink = plugin.value()->open(pipeline.name, pipeline.sink.config.dump());
    if (!sink) return Status::error(pipeline.name + ": sink " + pipeline.sink.plugin + ": " + sink.error());

    auto loader = postgres::BatchLoader::create(loader_options(config, pipeline));
    if (!loader) return loader.status();  // names the pipeline; retryable when the database is down

    auto producer = kafka::Producer::create(client_options(config));
    if (!producer) return Status::error(pipeline.name + ": Kafka producer: " + producer.error());

    auto impl = std::make_unique<Impl>(config, pipeline, std::move(producer.value()),
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
