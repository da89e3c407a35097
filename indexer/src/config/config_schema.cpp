// Every configuration key, declared once: name, type, required or default,
// description. Parsing, error messages, the redacted dump and
// docs/configuration.md all come from here.
#include "config_schema.hpp"

#include <indexer/config/redaction.hpp>
#include <indexer/config/sql.hpp>

#include <algorithm>
#include <array>
#include <map>

namespace indexer::config {
namespace {

using schema::Check;
using schema::Codec;
using schema::ObjectSchema;
using schema::Reader;
using namespace std::chrono_literals;

// Kafka's limit for topic names; group ids follow the same rule here so that a
// name can also appear in topic names.
constexpr std::size_t kMaxKafkaName = 249;

const std::vector<std::pair<std::string, LogLevel>>& log_levels() {
    static const std::vector<std::pair<std::string, LogLevel>> names{
        {"trace", LogLevel::Trace}, {"debug", LogLevel::Debug}, {"info", LogLevel::Info},
        {"warn", LogLevel::Warn},   {"error", LogLevel::Error},
    };
    return names;
}

const std::vector<std::pair<std::string, LogFormat>>& log_formats() {
    static const std::vector<std::pair<std::string, LogFormat>> names{
        {"auto", LogFormat::Auto},
        {"text", LogFormat::Text},
        {"json", LogFormat::Json},
    };
    return names;
}

bool is_kafka_name(const std::string& text, std::string& reason) {
    if (text.empty() || text == "." || text == "..") return false;
    if (text.size() > kMaxKafkaName) {
        reason = "longer than " + std::to_string(kMaxKafkaName) + " characters";
        return false;
    }
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '-';
    });
}

Codec<std::string> topic_name() {
    return schema::text("topic name", "a Kafka topic name (letters, digits, '.', '_' and '-')",
                        is_kafka_name);
}

Codec<std::string> group_name() {
    return schema::text("name ([A-Za-z0-9._-]+)", "a name made of letters, digits, '.', '_' and '-'",
                        is_kafka_name);
}

Codec<std::string> non_empty_text(const std::string& type, std::string expected) {
    return schema::text(type, std::move(expected),
                        [](const std::string& text, std::string&) { return !text.empty(); });
}

Codec<std::string> broker_list() {
    return schema::text("string (host:port,...)", "a comma-separated list of host:port",
                        [](const std::string& text, std::string&) {
                            if (text.empty()) return false;
                            std::size_t start = 0;
                            while (start <= text.size()) {
                                const std::size_t comma = std::min(text.find(',', start), text.size());
                                const std::string entry = text.substr(start, comma - start);
                                if (entry.find_first_not_of(" \t") == std::string::npos) return false;
                                start = comma + 1;
                            }
                            return true;
                        });
}

bool is_port(const std::string& text) {
    if (text.empty() || text.size() > 5) return false;
    if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    const int port = std::stoi(text);
    return port >= 1 && port <= 65535;
}

Codec<std::string> listen_address() {
    return schema::text("address (host:port)", "an address like 127.0.0.1:9464 or [::1]:9464",
                        [](const std::string& text, std::string&) {
                            const std::size_t colon = text.rfind(':');
                            if (colon == std::string::npos || colon == 0 || !is_port(text.substr(colon + 1)))
                                return false;
                            const std::string host = text.substr(0, colon);
                            if (host.front() == '[') return host.back() == ']' && host.size() > 2;
                            return std::all_of(host.begin(), host.end(), [](char c) {
                                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                       (c >= '0' && c <= '9') || c == '.' || c == '-';
                            });
                        });
}

Codec<std::string> connection_string() {
    Codec<std::string> codec = schema::scalar<std::string>(
        "connection string", "a libpq connection string (postgresql://... or key=value ...)",
        [](const std::string& text, std::string&) -> std::optional<std::string> {
            const std::size_t scheme = text.find("://");
            if (scheme != std::string::npos) {
                const std::string name = text.substr(0, scheme);
                if (name != "postgresql" && name != "postgres") return std::nullopt;
            } else if (text.find('=') == std::string::npos) {
                return std::nullopt;
            }
            return text;
        },
        [](const std::string& text) { return YAML::Node(redact_connection_string(text)); },
        /*show_value_in_errors=*/false);
    return codec;
}

Codec<std::string> plugin_reference() {
    return schema::text(
        "plugin name or path", "a plugin name ([a-z0-9_-]+) or a path to a shared object (with a '/')",
        [](const std::string& text, std::string&) {
            if (text.find('/') != std::string::npos) return true;
            return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
            });
        });
}

Codec<TableName> table_name() {
    return schema::scalar<TableName>(
        "table name", "a table name like products or public.products",
        [](const std::string& text, std::string& reason) -> std::optional<TableName> {
            Result<TableName> table = parse_table_name(text);
            if (!table) {
                reason = table.error();
                return std::nullopt;
            }
            return std::move(table).value();
        },
        [](const TableName& table) { return YAML::Node(table.to_string()); });
}

Codec<std::string> column_name() {
    return schema::scalar<std::string>(
        "column name", "a column name",
        [](const std::string& text, std::string& reason) -> std::optional<std::string> {
            Result<std::string> name = parse_sql_identifier(text);
            if (!name) {
                reason = name.error();
                return std::nullopt;
            }
            return std::move(name).value();
        },
        [](const std::string& name) {
            return YAML::Node(TableName{"", name}.to_string());
        });
}

Codec<std::string> id_query() {
    return schema::text("SQL", "a query that uses $1 (the array of ids) and no other parameter",
                        [](const std::string& text, std::string& reason) {
                            const std::vector<int> parameters = sql_parameter_numbers(text);
                            if (parameters == std::vector<int>{1}) return true;
                            if (std::find(parameters.begin(), parameters.end(), 1) == parameters.end()) {
                                reason = "$1 is missing, e.g. WHERE p.id = ANY($1)";
                            } else {
                                const int other = parameters.back();
                                reason = "it also uses $" + std::to_string(other);
                            }
                            return false;
                        });
}

Codec<std::string> version_expression() {
    return schema::text("SQL expression",
                        "an SQL expression over the row, e.g. updated_at, without parameters",
                        [](const std::string& text, std::string& reason) {
                            if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
                                reason = "it is empty";
                                return false;
                            }
                            const std::vector<int> parameters = sql_parameter_numbers(text);
                            if (parameters.empty()) return true;
                            reason = "it uses $" + std::to_string(parameters.front()) +
                                     "; it is evaluated on each row and takes no parameter";
                            return false;
                        });
}

// The Kafka properties the indexer sets itself; a user's value would break it.
std::string check_kafka_property(const std::string& key) {
    static const std::map<std::string, std::string> kReserved{
        {"bootstrap.servers", "set kafka.brokers instead"},
        {"metadata.broker.list", "set kafka.brokers instead"},
        {"client.id", "set kafka.client_id instead"},
        {"group.id", "the indexer sets it: each pipeline and delayer uses its name as its group id"},
        {"enable.auto.commit", "the indexer commits offsets itself, only after a batch is written"},
        {"enable.auto.offset.store", "the indexer stores offsets itself, only after a batch is written"},
    };
    const auto reserved = kReserved.find(key);
    return reserved == kReserved.end() ? "" : "cannot be set here: " + reserved->second;
}

const ObjectSchema<KafkaConfig>& kafka_schema() {
    static const ObjectSchema<KafkaConfig> schema = [] {
        ObjectSchema<KafkaConfig> s;
        s.required("brokers", &KafkaConfig::brokers, broker_list(),
                   "The Kafka bootstrap servers, e.g. `kafka1:9092,kafka2:9092`.");
        s.with_default("client_id", &KafkaConfig::client_id, non_empty_text("string", "a non-empty string"),
                       "indexer",
                       "The client id the indexer's consumers and producers report to the brokers.");
        s.with_default(
            "properties", &KafkaConfig::properties, schema::string_map(check_kafka_property),
            std::map<std::string, std::string>{},
            "librdkafka properties passed through untouched (`security.protocol`, `sasl.mechanism`, "
            "`sasl.username`, `sasl.password`, `ssl.ca.location`, ...); values may be interpolated "
            "secrets. `bootstrap.servers`, `client.id`, `group.id`, `enable.auto.commit` and "
            "`enable.auto.offset.store` are set by the indexer and rejected here.");
        return s;
    }();
    return schema;
}

const ObjectSchema<PostgresConfig>& postgres_schema() {
    static const ObjectSchema<PostgresConfig> schema = [] {
        ObjectSchema<PostgresConfig> s;
        s.computed("url", &PostgresConfig::url, connection_string(), "when pipelines exist", "",
                   "The database the pipelines reload rows from: a libpq URL "
                   "(`postgresql://user:password@host:5432/db?sslmode=require`) or key=value string "
                   "(`host=db dbname=shop user=indexer`). Put the password in an environment variable: "
                   "`postgresql://indexer:${PGPASSWORD}@db/shop`.");
        s.with_default("pool_size", &PostgresConfig::pool_size, schema::integer(1, 64), 4,
                       "Database connections of each pipeline: up to this many of its batches reload at "
                       "once (bounded by `batch.in_flight`).");
        s.with_default("connect_timeout", &PostgresConfig::connect_timeout, schema::duration(1s, 10min),
                       Duration{10s},
                       "How long one connection attempt may take before it fails and is retried, a server "
                       "that accepts the connection but never answers included: libpq's `connect_timeout`, "
                       "in whole seconds rounded up, at least 2. Every connection also gets TCP keepalives "
                       "(idle 30 s, every 10 s, 3 probes) and a 60 s `tcp_user_timeout`. A `connect_timeout` "
                       "(or keepalive setting) written in `postgres.url` wins over this one.");
        s.with_default("statement_timeout", &PostgresConfig::statement_timeout, schema::duration(0s, 1h),
                       Duration{30s},
                       "The longest a reload query may run before it fails and is retried with backoff; "
                       "`0s` is no limit. Waiting for a lock counts: a reload blocked by an `ACCESS "
                       "EXCLUSIVE` lock (`ALTER TABLE`, `VACUUM FULL`) fails after this long and is retried "
                       "until the lock goes. Set with libpq's `options` "
                       "(`-c statement_timeout=...`); a `statement_timeout` in the `options` of "
                       "`postgres.url` wins over this one, and a `lock_timeout` there is honoured too.");
        return s;
    }();
    return schema;
}

const ObjectSchema<HttpConfig>& http_schema() {
    static const ObjectSchema<HttpConfig> schema = [] {
        ObjectSchema<HttpConfig> s;
        s.with_default("listen", &HttpConfig::listen, listen_address(), "127.0.0.1:9464",
                       "Where `/metrics`, `/healthz` and `/readyz` are served. Loopback by default; write "
                       "`0.0.0.0:9464` to serve every interface.");
        return s;
    }();
    return schema;
}

const ObjectSchema<LoggingConfig>& logging_schema() {
    static const ObjectSchema<LoggingConfig> schema = [] {
        ObjectSchema<LoggingConfig> s;
        s.with_default("level", &LoggingConfig::level, schema::one_of(log_levels()), LogLevel::Info,
                       "The least severe level that is logged.");
        s.with_default("format", &LoggingConfig::format, schema::one_of(log_formats()), LogFormat::Auto,
                       "`text` for people, `json` for log collectors, `auto` for text on a terminal and JSON "
                       "otherwise.");
        return s;
    }();
    return schema;
}

const ObjectSchema<PluginsConfig>& plugins_schema() {
    static const ObjectSchema<PluginsConfig> schema = [] {
        ObjectSchema<PluginsConfig> s;
        s.with_default("paths", &PluginsConfig::paths,
                       schema::list_of(schema::directory_path(), "list of paths"),
                       std::vector<std::filesystem::path>{},
                       "Extra directories searched for sink plugins given by name, before the directory "
                       "installed next to the binary. Relative paths are relative to the config file.");
        return s;
    }();
    return schema;
}

const ObjectSchema<SourceConfig>& source_schema() {
    static const ObjectSchema<SourceConfig> schema = [] {
        ObjectSchema<SourceConfig> s;
        s.optional("table", &SourceConfig::table, table_name(),
                   "The table whose rows are the documents: `products` or `schema.products`. Unquoted names "
                   "are folded to lower case as PostgreSQL does; double-quote a part to keep its case "
                   "(`'\"Products\"'`). Each document is `row_to_json` of the row.",
                   "unless `query`");
        s.optional(
            "query", &SourceConfig::query, id_query(),
            "Instead of `table`: SQL that takes the array of ids as `$1` (its only parameter) and "
            "returns one row per id found with two columns: the id, named by `id_column`, and the "
            "document (json, jsonb or text). It may join and nest with `json_build_object`/`json_agg`. "
            "Checked by preparing it at start-up.",
            "unless `table`");
        s.with_default(
            "id_column", &SourceConfig::id_column, column_name(), "id",
            "The id column of `table`, or the result column of `query` that holds the id. Its type "
            "(bigint, uuid, text, ...) is the type ids are bound as.");
        s.optional(
            "version", &SourceConfig::version, version_expression(),
            "What orders the versions of a row: a column or SQL expression over the row (over the result "
            "columns of `query`). A timestamp (`updated_at`, with or without time zone, the latter read as "
            "UTC) becomes microseconds since 1970 and deletes carry the database's clock; an integer "
            "(`lock_version + 1`; 0 means no version, so start at 1) is used as it is and deletes carry "
            "none. Upserts and deletes are sent with it, and a sink that keeps versions (Elasticsearch: "
            "`external_gte`) refuses to write an older one over a newer one. A row whose version is NULL, "
            "below 1 or infinite is dead-lettered. Without it every write is unversioned: the last write "
            "wins. Checked by preparing it at start-up.");
        s.rule("Exactly one of `table` and `query` is given.",
               [](Reader& reader, const ObjectSchema<SourceConfig>::Place& place, SourceConfig& source) {
                   if (source.table.has_value() == source.query.has_value()) {
                       reader.error(place.mark, place.path,
                                    source.table ? "give either table or query, not both"
                                                 : "give either table or query (neither is set)");
                   }
               });
        return s;
    }();
    return schema;
}

const ObjectSchema<SinkConfig>& sink_schema() {
    static const ObjectSchema<SinkConfig> schema = [] {
        ObjectSchema<SinkConfig> s;
        s.required(
            "plugin", &SinkConfig::plugin, plugin_reference(),
            "The sink plugin: a name (`elasticsearch`, `memcached`, ...) looked up in the plugin "
            "directories, or a path to a shared object (contains a `/`; relative to the config file).");
        s.with_default(
            "config", &SinkConfig::config, schema::json_object(), nlohmann::json::object(),
            "The plugin's own settings, handed to it as a JSON object (see the plugin's "
            "documentation). Interpolated like every value; quoted scalars are strings, plain ones "
            "become null, booleans and numbers when they read as one.");
        s.rule("A relative plugin path is resolved against the config file's directory.",
               [](Reader& reader, const ObjectSchema<SinkConfig>::Place&, SinkConfig& sink) {
                   const std::filesystem::path path(sink.plugin);
                   if (sink.plugin_is_path() && path.is_relative() && !reader.base_directory().empty()) {
                       sink.plugin = (reader.base_directory() / path).lexically_normal().string();
                   }
               });
        return s;
    }();
    return schema;
}

const ObjectSchema<BatchConfig>& batch_schema() {
    static const ObjectSchema<BatchConfig> schema = [] {
        ObjectSchema<BatchConfig> s;
        s.with_default("max_messages", &BatchConfig::max_messages, schema::integer(1, 100'000), 1000,
                       "A batch is processed once it holds this many messages...");
        s.with_default("max_wait", &BatchConfig::max_wait, schema::duration(1ms, 1min), Duration{500ms},
                       "...or once its first message has waited this long...");
        s.with_default("max_bytes", &BatchConfig::max_bytes, schema::size(1024, 256ULL << 20),
                       std::uint64_t{1} << 20,
                       "...or once its messages' keys and values hold this many bytes.");
        s.with_default(
            "in_flight", &BatchConfig::in_flight, schema::integer(1, 64), 4,
            "Batches of the pipeline in flight at once: while one is written to the sink, the next "
            "ones are fetched and reloaded (on up to `postgres.pool_size` connections). Writes keep "
            "the order of the batches, and offsets are committed in order; `1` processes one batch "
            "after the other.");
        return s;
    }();
    return schema;
}

const ObjectSchema<RetryConfig>& retry_schema() {
    static const ObjectSchema<RetryConfig> schema = [] {
        ObjectSchema<RetryConfig> s;
        s.with_default("initial", &RetryConfig::initial, schema::duration(1ms, 1h), Duration{100ms},
                       "The first delay before a failed write or reload is tried again; it doubles (with "
                       "jitter) on each further failure.");
        s.with_default("max", &RetryConfig::max, schema::duration(1ms, 1h), Duration{30s},
                       "The longest delay between two attempts. Retries never stop: the pipeline waits until "
                       "the sink or the database is back.");
        s.rule("`initial` is not longer than `max`.",
               [](Reader& reader, const ObjectSchema<RetryConfig>::Place& place, RetryConfig& retry) {
                   if (retry.initial > retry.max) {
                       reader.error(place.mark_of("initial"), place.path_of("initial"),
                                    "is longer than max (" + format_duration(retry.initial) + " > " +
                                        format_duration(retry.max) + ")");
                   }
               });
        return s;
    }();
    return schema;
}

const ObjectSchema<PipelineConfig>& pipeline_schema() {
    static const ObjectSchema<PipelineConfig> schema = [] {
        ObjectSchema<PipelineConfig> s;
        s.required(
            "name", &PipelineConfig::name, group_name(),
            "Unique among pipelines and delayers; the Kafka consumer group id, so two pipelines on one "
            "topic each get every message, and processes running the same pipeline share its "
            "partitions.");
        s.required("topic", &PipelineConfig::topic, topic_name(), "The topic of id messages it consumes.");
        s.with_default("id_field", &PipelineConfig::id_field, non_empty_text("string", "a field name"), "id",
                       "The field of a JSON message value that holds the id (`{\"id\": 42}`). A bare JSON "
                       "number or string, or an empty value with the id in the key, are accepted too.");
        s.section("source", &PipelineConfig::source, source_schema(), "Where the documents are loaded from.",
                  "yes");
        s.section("sink", &PipelineConfig::sink, sink_schema(), "Where the documents are written.");
        s.section("batch", &PipelineConfig::batch, batch_schema(), "How many messages are handled together.");
        s.computed("dead_letter_topic", &PipelineConfig::dead_letter_topic, topic_name(), "no",
                   "`<topic>-dead-letter`",
                   "Where messages that cannot be indexed go (unparseable, no usable id, rejected by the "
                   "sink), with headers saying why and where they came from. `indexer dead-letters` lists "
                   "them by cause and replays them.");
        s.section("retry", &PipelineConfig::retry, retry_schema(),
                  "Backoff for sink writes and reloads that failed for a reason that may pass.");
        s.with_default(
            "pause_after_same_rejects", &PipelineConfig::pause_after_same_rejects,
            schema::integer(0, 1'000'000), 20,
            "When the sink rejects this many distinct documents for one and the same reason (quoted values "
            "and numbers aside), and more than it wrote OK since that reason first appeared, the pipeline "
            "pauses and retries them instead of dead-lettering them: a mapping conflict after a schema "
            "change refuses a whole stream, not one document. It resumes once the sink accepts one of the "
            "held documents (the index or its mapping fixed). One bad document among good ones is still "
            "dead-lettered. `0` dead-letters every rejection. See docs/engine.md.");
        s.with_default(
            "memory_budget", &PipelineConfig::memory_budget, schema::size(4ULL << 20, 64ULL << 30),
            std::uint64_t{48} << 20,
            "Bytes of messages and documents the pipeline holds at once, Kafka's prefetch included: "
            "a quarter goes to librdkafka's prefetch queue (`queued.max.messages.kbytes`, unless "
            "`kafka.properties` sets it), the rest to the batches in flight. Fetching waits while "
            "it is spent, so memory follows this budget and not the backlog.");
        s.with_default("enabled", &PipelineConfig::enabled, schema::boolean(), true,
                       "`false` keeps the pipeline in the file (still checked) but does not run it.");
        s.rule(
            "`dead_letter_topic` defaults to `<topic>-dead-letter` and differs from `topic`.",
            [](Reader& reader, const ObjectSchema<PipelineConfig>::Place& place, PipelineConfig& pipeline) {
                if (pipeline.dead_letter_topic.empty()) {
                    pipeline.dead_letter_topic = pipeline.topic + "-dead-letter";
                    if (pipeline.dead_letter_topic.size() > kMaxKafkaName) {
                        reader.error(place.mark_of("topic"), place.path_of("topic"),
                                     "too long to derive dead_letter_topic from it; set dead_letter_topic");
                    }
                } else if (pipeline.dead_letter_topic == pipeline.topic) {
                    reader.error(place.mark_of("dead_letter_topic"), place.path_of("dead_letter_topic"),
                                 "must differ from topic");
                }
            });
        return s;
    }();
    return schema;
}

const ObjectSchema<DelayerConfig>& delayer_schema() {
    static const ObjectSchema<DelayerConfig> schema = [] {
        ObjectSchema<DelayerConfig> s;
        s.required("name", &DelayerConfig::name, group_name(),
                   "Unique among pipelines and delayers; the Kafka consumer group id.");
        s.required("topic", &DelayerConfig::topic, topic_name(),
                   "The delay topic it consumes (KafkaSync names it `<topic>-delay`).");
        s.required("target_topic", &DelayerConfig::target_topic, topic_name(),
                   "Where each message is re-published once it is `delay` old.");
        s.with_default("delay", &DelayerConfig::delay, schema::duration(0s, 24h * 7), Duration{5min},
                       "How old a message must be (its Kafka timestamp, or `created_at` of the KafkaSync "
                       "wrapper) before it is re-published.");
        s.optional("dead_letter_topic", &DelayerConfig::dead_letter_topic, topic_name(),
                   "Where messages that cannot be parsed go. Without it they are re-published unchanged once "
                   "due by their Kafka timestamp, and the target's pipeline dead-letters them.");
        s.rule("`topic` and `target_topic` differ.",
               [](Reader& reader, const ObjectSchema<DelayerConfig>::Place& place, DelayerConfig& delayer) {
                   if (delayer.topic == delayer.target_topic) {
                       reader.error(place.mark_of("target_topic"), place.path_of("target_topic"),
                                    "must differ from topic (the delayer would re-publish to itself)");
                   }
               });
        return s;
    }();
    return schema;
}

// The position of `list[index].key` in the file.
YAML::Mark item_key_mark(const ObjectSchema<Config>::Place& place, const std::string& list, std::size_t index,
                         const std::string& key) {
    if (!place.node.IsMap()) return place.mark;
    const YAML::Node items = place.node[list];
    if (!items.IsSequence() || index >= items.size()) return place.mark;
    const YAML::Node item = items[index];
    if (item.IsMap() && item[key].IsDefined()) return item[key].Mark();
    return item.Mark();
}

void check_unique_names(Reader& reader, const ObjectSchema<Config>::Place& place, const Config& config) {
    std::map<std::string, std::string> first_use;  // name -> path that used it first
    const auto claim = [&](const std::string& list, std::size_t index, const std::string& name) {
        const std::string path = schema::item_path(list, index);
        const auto [previous, inserted] = first_use.emplace(name, path);
        if (!inserted) {
            reader.error(item_key_mark(place, list, index, "name"), path + ".name",
                         "duplicate name " + schema::quote(name) + " (also used by " + previous->second +
                             "); pipeline and delayer names are Kafka group ids and must be unique");
        }
    };
    for (std::size_t index = 0; index < config.pipelines.size(); ++index) {
        claim("pipelines", index, config.pipelines[index].name);
    }
    for (std::size_t index = 0; index < config.delayers.size(); ++index) {
        claim("delayers", index, config.delayers[index].name);
    }
}

const ObjectSchema<Config>& root_schema() {
    static const ObjectSchema<Config> schema = [] {
        ObjectSchema<Config> s;
        s.section("kafka", &Config::kafka, kafka_schema(),
                  "The Kafka cluster every pipeline and delayer uses.");
        s.section("postgres", &Config::postgres, postgres_schema(), "The database the documents come from.");
        s.section("http", &Config::http, http_schema(), "The metrics and health endpoints.");
        s.section("logging", &Config::logging, logging_schema(), "What is logged, and how.");
        s.section("plugins", &Config::plugins, plugins_schema(), "Where sink plugins are found.");
        s.list("pipelines", &Config::pipelines, pipeline_schema(),
               "Each pipeline consumes one topic of ids, reloads the rows and writes them to one sink.");
        s.list("delayers", &Config::delayers, delayer_schema(),
               "Each delayer re-publishes the messages of a delay topic to a target topic once they are old "
               "enough, so that a change whose instant message was lost still reaches the sinks.");
        s.rule("Pipeline and delayer names are unique (together: each is a Kafka group id).",
               check_unique_names);
        s.rule("`postgres.url` is required when there is at least one pipeline.",
               [](Reader& reader, const ObjectSchema<Config>::Place& place, Config& config) {
                   if (!config.pipelines.empty() && config.postgres.url.empty()) {
                       reader.error(place.mark_of("postgres"), "postgres.url",
                                    "required key is missing (the pipelines reload rows from PostgreSQL)");
                   }
               });
        s.rule("At least one pipeline or delayer is configured.",
               [](Reader& reader, const ObjectSchema<Config>::Place& place, Config& config) {
                   if (config.pipelines.empty() && config.delayers.empty()) {
                       reader.error(place.mark, "",
                                    "nothing to run: configure at least one pipeline or delayer");
                   }
               });
        return s;
    }();
    return schema;
}

template <class E>
std::string_view name_of(const std::vector<std::pair<std::string, E>>& names, E value) {
    for (const auto& [name, candidate] : names) {
        if (candidate == value) return name;
    }
    return "unknown";
}

}  // namespace

const schema::ObjectSchema<Config>& config_schema() {
    return root_schema();
}

std::string_view to_string(LogLevel level) {
    return name_of(log_levels(), level);
}
std::string_view to_string(LogFormat format) {
    return name_of(log_formats(), format);
}

}  // namespace indexer::config
