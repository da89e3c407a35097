// The typed configuration the rest of the core uses. load_config() and
// parse_config() (loader.hpp) produce it, interpolated and validated; each key,
// with its type, default and description, is declared once in
// src/config/config_schema.cpp, and docs/configuration.md is generated from
// those declarations. Defaults are applied by the loader, not by these
// structs: build a Config for a test with parse_config() and a few lines of
// YAML rather than by hand.
#pragma once

#include <indexer/config/sql.hpp>
#include <indexer/config/units.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace indexer::config {

struct KafkaConfig {
    std::string brokers;  // librdkafka's bootstrap.servers
    std::string client_id;
    // Passed to librdkafka untouched (security.protocol, sasl.*, ...), values
    // already interpolated. Never holds the keys the indexer sets itself.
    std::map<std::string, std::string> properties;
};

struct PostgresConfig {
    std::string url;  // a libpq URL or key=value string; empty when no pipeline needs it
    int pool_size{};
    Duration connect_timeout{};
    Duration statement_timeout{};  // zero: no limit
};

struct HttpConfig {
    std::string listen;  // "host:port" of /metrics, /healthz and /readyz
};

enum class LogLevel { Trace, Debug, Info, Warn, Error };
enum class LogFormat { Auto, Text, Json };

struct LoggingConfig {
    LogLevel level{};
    LogFormat format{};
};

struct PluginsConfig {
    // Extra plugin directories, searched before the default one. Relative
    // paths are already resolved against the config file's directory.
    std::vector<std::filesystem::path> paths;
};

// Where the documents come from: exactly one of `table` and `query` is set.
struct SourceConfig {
    std::optional<TableName> table;
    // Custom SQL with one parameter, $1 (the array of ids); returns the id
    // column and the document.
    std::optional<std::string> query;
    // The id column of `table`, or the result column of `query` holding the
    // id; as PostgreSQL resolves it (unquoted names folded to lower case).
    std::string id_column;
    // SQL expression over the row that orders its versions (batch_loader.hpp).
    std::optional<std::string> version;
};

struct SinkConfig {
    // A plugin name ([a-z0-9_-]+), looked up in the plugin directories, or a
    // path to a shared object (contains '/'; relative paths already resolved
    // against the config file's directory).
    std::string plugin;
    nlohmann::json config;  // the plugin's own settings (an object), interpolated

    bool plugin_is_path() const { return plugin.find('/') != std::string::npos; }
};

struct BatchConfig {
    int max_messages{};
    Duration max_wait{};
    std::uint64_t max_bytes{};  // keys and values of one batch
    int in_flight{};            // batches reloaded or written at once
};

struct RetryConfig {
    Duration initial{};
    Duration max{};
};

struct PipelineConfig {
    std::string name;  // also the Kafka consumer group id
    std::string topic;
    std::string id_field;  // the JSON field of a message that carries the id
    SourceConfig source;
    SinkConfig sink;
    BatchConfig batch;
    std::string dead_letter_topic;  // always set (derived from topic when not given)
    RetryConfig retry;
    int pause_after_same_rejects{};  // 0 = every rejection is dead-lettered
    std::uint64_t memory_budget{};   // bytes in flight, Kafka's prefetch included
    bool enabled{};
};

struct DelayerConfig {
    std::string name;   // also the Kafka consumer group id
    std::string topic;  // the delay topic it consumes
    std::string target_topic;
    Duration delay{};
    std::optional<std::string> dead_letter_topic;
};

struct Config {
    std::string origin;  // the file (or the name given to parse_config) it came from
    KafkaConfig kafka;
    PostgresConfig postgres;
    HttpConfig http;
    LoggingConfig logging;
    PluginsConfig plugins;
    std::vector<PipelineConfig> pipelines;
    std::vector<DelayerConfig> delayers;
};

// "trace", "debug", ... and "auto", "text", "json": the names used in the file.
std::string_view to_string(LogLevel level);
std::string_view to_string(LogFormat format);

}  // namespace indexer::config
