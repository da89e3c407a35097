#include <indexer/config/loader.hpp>

#include "fake_environment.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

using namespace indexer::config;
using indexer::Result;
using namespace std::chrono_literals;
using indexer::config::testing::fake_environment;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using Variables = std::map<std::string, std::string>;

// Kafka and PostgreSQL on lines 1-4, so that test text starts on line 5.
constexpr std::string_view kConnections = R"(kafka:
  brokers: k:9092
postgres:
  url: postgresql://u@h/db
)";

// One valid pipeline, for tests about everything else.
constexpr std::string_view kOnePipeline = R"(pipelines:
  - name: p
    topic: t
    source: {table: products}
    sink: {plugin: elasticsearch}
)";

Config parsed(std::string_view text, const Variables& variables = {}) {
    Result<Config> config = parse_config(text, "test.yaml", fake_environment(variables));
    EXPECT_TRUE(config.is_ok()) << config.error();
    return config.is_ok() ? std::move(config).value() : Config{};
}

// Every error line of a text that must not load.
std::vector<std::string> errors(std::string_view text, const Variables& variables = {}) {
    Result<Config> config = parse_config(text, "test.yaml", fake_environment(variables));
    EXPECT_FALSE(config.is_ok()) << "the configuration loaded";
    std::vector<std::string> lines;
    if (config.is_ok()) return lines;
    std::istringstream in(config.error());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string with_connections(std::string_view rest) {
    return std::string(kConnections) + std::string(rest);
}

}  // namespace

TEST(ParseConfig, AppliesEveryDefaultToAMinimalPipeline) {
    const Config config = parsed(with_connections(kOnePipeline));
    EXPECT_EQ(config.origin, "test.yaml");
    EXPECT_EQ(config.kafka.brokers, "k:9092");
    EXPECT_EQ(config.kafka.client_id, "indexer");
    EXPECT_TRUE(config.kafka.properties.empty());
    EXPECT_EQ(config.postgres.url, "postgresql://u@h/db");
    EXPECT_EQ(config.postgres.pool_size, 4);
    EXPECT_EQ(config.postgres.connect_timeout, 10s);
    EXPECT_EQ(config.postgres.statement_timeout, 30s);
    EXPECT_EQ(config.http.listen, "127.0.0.1:9464");
    EXPECT_EQ(config.logging.level, LogLevel::Info);
    EXPECT_EQ(config.logging.format, LogFormat::Auto);
    EXPECT_TRUE(config.plugins.paths.empty());
    ASSERT_EQ(config.pipelines.size(), 1U);
    const PipelineConfig& pipeline = config.pipelines[0];
    EXPECT_EQ(pipeline.name, "p");
    EXPECT_EQ(pipeline.topic, "t");
    EXPECT_EQ(pipeline.id_field, "id");
    EXPECT_EQ(pipeline.source.table, (TableName{"", "products"}));
    EXPECT_EQ(pipeline.source.query, std::nullopt);
    EXPECT_EQ(pipeline.source.id_column, "id");
    EXPECT_EQ(pipeline.sink.plugin, "elasticsearch");
    EXPECT_FALSE(pipeline.sink.plugin_is_path());
    EXPECT_EQ(pipeline.sink.config, nlohmann::json::object());
    EXPECT_EQ(pipeline.batch.max_messages, 1000);
    EXPECT_EQ(pipeline.batch.max_wait, 500ms);
    EXPECT_EQ(pipeline.dead_letter_topic, "t-dead-letter");
    EXPECT_EQ(pipeline.retry.initial, 100ms);
    EXPECT_EQ(pipeline.retry.max, 30s);
    EXPECT_EQ(pipeline.pause_after_same_rejects, 20);
    EXPECT_TRUE(pipeline.enabled);
    EXPECT_TRUE(config.delayers.empty());
}

TEST(ParseConfig, ReadsEveryKeyWhenGiven) {
    const Config config = parsed(R"(
kafka:
  brokers: a:9092,b:9092
  client_id: search-indexer
  properties:
    security.protocol: SASL_SSL
    linger.ms: 5
    enable.idempotence: true
postgres:
  url: host=db dbname=shop
  pool_size: 16
  connect_timeout: 3s
  statement_timeout: 0s
http:
  listen: "[::1]:9000"
logging:
  level: debug
  format: json
plugins:
  paths: [/opt/plugins, more-plugins]
pipelines:
  - name: orders.search_v2
    topic: orders
    id_field: order_id
    source:
      table: Shop."Orders"
      id_column: Order_ID
    sink:
      plugin: ./plugins/libmy_sink.so
      config: {index: orders}
    batch: {max_messages: 100000, max_wait: 1m}
    dead_letter_topic: orders-dlq
    retry: {initial: 1s, max: 1h}
    pause_after_same_rejects: 0
    enabled: no
delayers:
  - name: orders-delay
    topic: orders-delay
    target_topic: orders
    delay: 1h30m
    dead_letter_topic: orders-delay-dlq
)",
                                 {});
    EXPECT_EQ(config.kafka.brokers, "a:9092,b:9092");
    EXPECT_EQ(config.kafka.client_id, "search-indexer");
    EXPECT_EQ(config.kafka.properties,
              (std::map<std::string, std::string>{
                  {"enable.idempotence", "true"}, {"linger.ms", "5"}, {"security.protocol", "SASL_SSL"}}));
    EXPECT_EQ(config.postgres.url, "host=db dbname=shop");
    EXPECT_EQ(config.postgres.pool_size, 16);
    EXPECT_EQ(config.postgres.connect_timeout, 3s);
    EXPECT_EQ(config.postgres.statement_timeout, 0s);
    EXPECT_EQ(config.http.listen, "[::1]:9000");
    EXPECT_EQ(config.logging.level, LogLevel::Debug);
    EXPECT_EQ(config.logging.format, LogFormat::Json);
    // Without a base directory, relative paths stay as written.
    EXPECT_THAT(config.plugins.paths, ElementsAre("/opt/plugins", "more-plugins"));
    ASSERT_EQ(config.pipelines.size(), 1U);
    const PipelineConfig& pipeline = config.pipelines[0];
    EXPECT_EQ(pipeline.name, "orders.search_v2");
    EXPECT_EQ(pipeline.id_field, "order_id");
    EXPECT_EQ(pipeline.source.table, (TableName{"shop", "Orders"}));
    EXPECT_EQ(pipeline.source.id_column, "order_id");
    EXPECT_EQ(pipeline.sink.plugin, "./plugins/libmy_sink.so");
    EXPECT_TRUE(pipeline.sink.plugin_is_path());
    EXPECT_EQ(pipeline.sink.config, (nlohmann::json{{"index", "orders"}}));
    EXPECT_EQ(pipeline.batch.max_messages, 100000);
    EXPECT_EQ(pipeline.batch.max_wait, 1min);
    EXPECT_EQ(pipeline.dead_letter_topic, "orders-dlq");
    EXPECT_EQ(pipeline.retry.initial, 1s);
    EXPECT_EQ(pipeline.retry.max, 1h);
    EXPECT_EQ(pipeline.pause_after_same_rejects, 0);
    EXPECT_FALSE(pipeline.enabled);
    ASSERT_EQ(config.delayers.size(), 1U);
    EXPECT_EQ(config.delayers[0].name, "orders-delay");
    EXPECT_EQ(config.delayers[0].topic, "orders-delay");
    EXPECT_EQ(config.delayers[0].target_topic, "orders");
    EXPECT_EQ(config.delayers[0].delay, 90min);
    EXPECT_EQ(config.delayers[0].dead_letter_topic, "orders-delay-dlq");
}

TEST(ParseConfig, GivesADelayerFiveMinutesAndNoDeadLetterTopicByDefault) {
    const Config config = parsed(R"(
kafka: {brokers: "k:9092"}
delayers:
  - {name: d, topic: products-delay, target_topic: products}
)");
    ASSERT_EQ(config.delayers.size(), 1U);
    EXPECT_EQ(config.delayers[0].delay, 5min);
    EXPECT_EQ(config.delayers[0].dead_letter_topic, std::nullopt);
}

TEST(ParseConfig, ReadsACustomQueryWithItsIdColumn) {
    const Config config = parsed(with_connections(R"(pipelines:
  - name: p
    topic: t
    source:
      id_column: order_id
      query: |
        SELECT o.id AS order_id, json_build_object('id', o.id) AS document
        FROM orders o WHERE o.id = ANY($1)
    sink: {plugin: elasticsearch}
)"));
    const SourceConfig& source = config.pipelines.at(0).source;
    EXPECT_EQ(source.table, std::nullopt);
    EXPECT_EQ(source.query,
              "SELECT o.id AS order_id, json_build_object('id', o.id) AS document\n"
              "FROM orders o WHERE o.id = ANY($1)\n");
    EXPECT_EQ(source.id_column, "order_id");
}

TEST(ParseConfig, AcceptsBooleanSpellingsForBooleanKeys) {
    for (const char* spelling : {"false", "False", "no", "off", "OFF"}) {
        const Config config =
            parsed(with_connections(std::string(kOnePipeline) + "    enabled: " + spelling + "\n"));
        EXPECT_FALSE(config.pipelines.at(0).enabled) << spelling;
    }
    const Config config = parsed(with_connections(std::string(kOnePipeline) + "    enabled: yes\n"));
    EXPECT_TRUE(config.pipelines.at(0).enabled);
}

TEST(ParseConfig, TreatsAKeyWithoutValueAsNotGiven) {
    const Config config =
        parsed(with_connections(std::string(kOnePipeline) + "    batch:\n    id_field: ~\n"));
    EXPECT_EQ(config.pipelines.at(0).batch.max_messages, 1000);
    EXPECT_EQ(config.pipelines.at(0).id_field, "id");
}

TEST(ParseConfig, ResolvesRelativePathsAgainstTheBaseDirectory) {
    Result<Config> config = parse_config(with_connections(R"(plugins:
  paths: [plugins, ../shared/plugins, /abs]
pipelines:
  - name: p
    topic: t
    source: {table: products}
    sink: {plugin: ../sinks/libmine.so}
)"),
                                         "etc/indexer.yaml", fake_environment(), "/etc/indexer");
    ASSERT_TRUE(config.is_ok()) << config.error();
    EXPECT_THAT(config->plugins.paths, ElementsAre("/etc/indexer/plugins", "/etc/shared/plugins", "/abs"));
    EXPECT_EQ(config->pipelines.at(0).sink.plugin, "/etc/sinks/libmine.so");
}

TEST(ParseConfig, ReadsJson) {
    const Config config = parsed(R"({
	"kafka": {"brokers": "k:9092", "properties": {"linger.ms": 5}},
	"postgres": {"url": "postgresql://u@h/db", "pool_size": 2},
	"pipelines": [{
		"name": "p", "topic": "t", "enabled": false,
		"source": {"table": "products"},
		"sink": {"plugin": "memcached", "config": {"servers": ["m:11211"], "ttl": 60, "prefix": "", "x": null}},
		"batch": {"max_messages": 10, "max_wait": "2s"}
	}]
})");
    EXPECT_EQ(config.kafka.properties.at("linger.ms"), "5");
    EXPECT_EQ(config.postgres.pool_size, 2);
    const PipelineConfig& pipeline = config.pipelines.at(0);
    EXPECT_FALSE(pipeline.enabled);
    EXPECT_EQ(pipeline.batch.max_messages, 10);
    EXPECT_EQ(pipeline.batch.max_wait, 2s);
    EXPECT_EQ(pipeline.sink.config,
              nlohmann::json::parse(R"({"servers": ["m:11211"], "ttl": 60, "prefix": "", "x": null})"));
}

TEST(ParseConfig, ConvertsSinkConfigToJsonWithYamlTypes) {
    const Config config = parsed(with_connections(R"(pipelines:
  - name: p
    topic: t
    source: {table: products}
    sink:
      plugin: elasticsearch
      config:
        hosts: [http://a:9200, "http://b:9200"]
        gzip: true
        quoted_bool: "true"
        max_bulk_ops: 500
        ratio: 0.5
        quoted_number: "500"
        nothing: null
        tilde: ~
        yes_is_text: yes
        nested: {list: [1, two, {three: 3}]}
        block: |
          line one
          line two
)"));
    EXPECT_EQ(config.pipelines.at(0).sink.config, nlohmann::json::parse(R"({
        "hosts": ["http://a:9200", "http://b:9200"], "gzip": true, "quoted_bool": "true",
        "max_bulk_ops": 500, "ratio": 0.5, "quoted_number": "500", "nothing": null, "tilde": null,
        "yes_is_text": "yes", "nested": {"list": [1, "two", {"three": 3}]},
        "block": "line one\nline two\n"})"));
}

TEST(ParseConfig, SharesASinkConfigThroughAYamlAlias) {
    const Config config = parsed(with_connections(R"(pipelines:
  - name: a
    topic: t
    source: {table: products}
    sink: {plugin: elasticsearch, config: &es {hosts: ["http://es:9200"], index: i}}
  - name: b
    topic: u
    source: {table: users}
    sink: {plugin: elasticsearch, config: *es}
)"));
    EXPECT_EQ(config.pipelines.at(0).sink.config, config.pipelines.at(1).sink.config);
}

// Interpolation.

TEST(ParseConfigInterpolation, ReplacesSetVariablesInValuesOfEveryType) {
    const Config config = parsed(R"(
kafka:
  brokers: ${KAFKA}
  properties: {sasl.password: "${KAFKA_PASSWORD}"}
postgres:
  url: postgresql://indexer:${PGPASSWORD}@db/shop
  pool_size: ${POOL}
  connect_timeout: ${TIMEOUT}
logging: {level: "${LEVEL}"}
pipelines:
  - name: p
    topic: t
    enabled: ${ENABLED}
    source: {table: products}
    sink:
      plugin: elasticsearch
      config:
        password: "${ES_PASSWORD}"
        ttl: ${TTL}
)",
                                 {{"KAFKA", "kafka:9092"},
                                  {"KAFKA_PASSWORD", "k-secret"},
                                  {"PGPASSWORD", "p-secret"},
                                  {"POOL", "7"},
                                  {"TIMEOUT", "2s"},
                                  {"LEVEL", "warn"},
                                  {"ENABLED", "false"},
                                  {"ES_PASSWORD", "123456"},
                                  {"TTL", "60"}});
    EXPECT_EQ(config.kafka.brokers, "kafka:9092");
    EXPECT_EQ(config.kafka.properties.at("sasl.password"), "k-secret");
    EXPECT_EQ(config.postgres.url, "postgresql://indexer:p-secret@db/shop");
    EXPECT_EQ(config.postgres.pool_size, 7);
    EXPECT_EQ(config.postgres.connect_timeout, 2s);
    EXPECT_EQ(config.logging.level, LogLevel::Warn);
    EXPECT_FALSE(config.pipelines.at(0).enabled);
    // Quoted stays a string even when it looks like a number; plain is typed after interpolation.
    EXPECT_EQ(config.pipelines.at(0).sink.config, (nlohmann::json{{"password", "123456"}, {"ttl", 60}}));
}

TEST(ParseConfigInterpolation, UsesDefaultsOfUnsetVariables) {
    const Config config = parsed(R"(
kafka: {brokers: "${KAFKA:-127.0.0.1:9092}"}
postgres: {url: "${PG:-postgresql://postgres@127.0.0.1/db}", pool_size: "${POOL:-8}"}
pipelines:
  - name: p
    topic: t
    source: {table: products}
    sink:
      plugin: memcached
      config:
        ttl: "${TTL:-0}"
        t: ${TTL:-0}
)");
    EXPECT_EQ(config.kafka.brokers, "127.0.0.1:9092");
    EXPECT_EQ(config.postgres.url, "postgresql://postgres@127.0.0.1/db");
    EXPECT_EQ(config.postgres.pool_size, 8);
    EXPECT_EQ(config.pipelines.at(0).sink.config, (nlohmann::json{{"ttl", "0"}, {"t", 0}}));
}

TEST(ParseConfigInterpolation, NamesTheKeyAndTheVariableWhenAVariableIsUnset) {
    EXPECT_THAT(
        errors(R"(kafka:
  brokers: ${INDEXER_KAFKA}
postgres:
  url: postgresql://indexer:${PGPASSWORD}@db/shop
pipelines:
  - name: p
    topic: t
    source: {table: products}
    sink: {plugin: elasticsearch, config: {hosts: ["${ES}"]}}
)"),
        ElementsAre("test.yaml:2:12: kafka.brokers: environment variable INDEXER_KAFKA is not set and "
                    "${INDEXER_KAFKA} has no default (write ${INDEXER_KAFKA:-default} to give one)",
                    "test.yaml:4:8: postgres.url: environment variable PGPASSWORD is not set and "
                    "${PGPASSWORD} has no default (write ${PGPASSWORD:-default} to give one)",
                    "test.yaml:9:52: pipelines[0].sink.config.hosts[0]: environment variable ES is not "
                    "set and ${ES} has no default (write ${ES:-default} to give one)"));
}

TEST(ParseConfigInterpolation, KeepsAnEscapedDollarBraceLiteral) {
    const Config config = parsed(with_connections(R"(pipelines:
  - name: p
    topic: t
    source: {table: products}
    sink: {plugin: memcached, config: {key_template: "product:$${id}", password: pa$$word}}
)"));
    EXPECT_EQ(config.pipelines.at(0).sink.config,
              (nlohmann::json{{"key_template", "product:${id}"}, {"password", "pa$$word"}}));
}

TEST(ParseConfigInterpolation, NeverLetsAValueChangeTheStructure) {
    const std::string injected = "x\n    topic: other\nenabled: false\n  - name: evil\n{a: [1]}: # b";
    const Config config = parsed(with_connections(R"(pipelines:
  - name: p
    topic: t
    source: {table: products}
    sink:
      plugin: elasticsearch
      config:
        index: "${V}"
        plain: ${V}
)"),
                                 {{"V", injected}});
    ASSERT_EQ(config.pipelines.size(), 1U);
    EXPECT_EQ(config.pipelines[0].topic, "t");
    EXPECT_TRUE(config.pipelines[0].enabled);
    EXPECT_EQ(config.pipelines[0].sink.config, (nlohmann::json{{"index", injected}, {"plain", injected}}));
}

TEST(ParseConfigInterpolation, RejectsAnInjectedValueAsOneWrongValue) {
    EXPECT_THAT(
        errors(with_connections(R"(pipelines:
  - name: p
    topic: ${TOPIC}
    source: {table: products}
    sink: {plugin: elasticsearch}
)"),
               {{"TOPIC", "t\nenabled: false"}}),
        ElementsAre("test.yaml:7:12: pipelines[0].topic: expected a Kafka topic name (letters, digits, "
                    "'.', '_' and '-'), got \"t\\nenabled: false\" (from \"${TOPIC}\")"));
}

TEST(ParseConfigInterpolation, ReportsMalformedReferencesWithTheKeyPath) {
    EXPECT_THAT(errors(with_connections(std::string(kOnePipeline) + "    id_field: ${ID_FIELD\n")),
                ElementsAre("test.yaml:10:15: pipelines[0].id_field: unterminated \"${\" (no closing \"}\"); "
                            "write \"$${\" for a literal \"${\""));
}

// Errors: every one names the file, line, column and key path; all are reported.

TEST(ParseConfigErrors, NamesTheKeyPathOfAWrongInteger) {
    EXPECT_THAT(
        errors(with_connections(R"(pipelines:
  - name: first
    topic: t
    source: {table: products}
    sink: {plugin: elasticsearch}
  - name: second
    topic: t
    source: {table: products}
    sink: {plugin: elasticsearch}
    batch:
      max_messages: lots
)")),
        ElementsAre("test.yaml:15:21: pipelines[1].batch.max_messages: expected an integer between 1 and "
                    "100000, got \"lots\""));
}

TEST(ParseConfigErrors, RejectsIntegersOutOfRangeOrNotIntegers) {
    EXPECT_THAT(
        errors(with_connections(std::string(kOnePipeline) +
                                "    batch: {max_messages: 0}\n"
                                "  - {name: q, topic: t, source: {table: a}, sink: {plugin: x}, "
                                "batch: {max_messages: 100001}}\n"
                                "  - {name: r, topic: t, source: {table: a}, sink: {plugin: x}, "
                                "batch: {max_messages: 1.5}}\n")),
        ElementsAre("test.yaml:10:27: pipelines[0].batch.max_messages: expected an integer between 1 and "
                    "100000, got \"0\"",
                    "test.yaml:11:86: pipelines[1].batch.max_messages: expected an integer between 1 and "
                    "100000, got \"100001\"",
                    "test.yaml:12:86: pipelines[2].batch.max_messages: expected an integer between 1 and "
                    "100000, got \"1.5\""));
}

TEST(ParseConfigErrors, RejectsWrongBooleansDurationsAndEnums) {
    EXPECT_THAT(
        errors(with_connections(R"(logging:
  level: verbose
  format: xml
pipelines:
  - name: p
    topic: t
    source: {table: products}
    sink: {plugin: elasticsearch}
    enabled: maybe
    batch: {max_wait: 5}
    retry: {max: 2h}
)")),
        ElementsAre("test.yaml:6:10: logging.level: expected one of trace, debug, info, warn, error, got "
                    "\"verbose\"",
                    "test.yaml:7:11: logging.format: expected one of auto, text, json, got \"xml\"",
                    "test.yaml:13:14: pipelines[0].enabled: expected true or false, got \"maybe\"",
                    "test.yaml:14:23: pipelines[0].batch.max_wait: expected a duration between 1ms and 1m "
                    "(like 500ms, 5s, 5m or 1h30m), got \"5\"",
                    "test.yaml:15:18: pipelines[0].retry.max: expected a duration between 1ms and 1h "
                    "(like 500ms, 5s, 5m or 1h30m), got \"2h\""));
}

TEST(ParseConfigErrors, RejectsValuesOfTheWrongShape) {
    EXPECT_THAT(
        errors(R"(kafka:
  brokers: [a, b]
  properties: [x]
postgres: postgresql://u@h/db
pipelines:
  name: p
delayers:
  - null
  - {name: {a: 1}, topic: t, target_topic: u}
)"),
        ElementsAre("test.yaml:2:12: kafka.brokers: expected a comma-separated list of host:port, got a list",
                    "test.yaml:3:15: kafka.properties: expected a mapping of names to values, got a list",
                    "test.yaml:4:11: postgres: expected a mapping of keys, got \"postgresql://u@h/db\"",
                    "test.yaml:6:3: pipelines: expected a list, got a mapping",
                    "test.yaml:8:5: delayers[0]: expected a value, got null",
                    "test.yaml:9:12: delayers[1].name: expected a name made of letters, digits, '.', '_' "
                    "and '-', got a mapping"));
}

TEST(ParseConfigErrors, RejectsUnknownKeysAndSuggestsTheClosestOne) {
    EXPECT_THAT(
        errors(with_connections(R"(metrics: {listen: "127.0.0.1:1"}
pipelines:
  - name: p
    topic: t
    sourc: {table: products}
    sink: {plugin: elasticsearch, confg: {}}
    batch: {max_message: 5}
)")),
        ElementsAre("test.yaml:5:1: metrics: unknown key (known keys: kafka, postgres, http, logging, "
                    "plugins, pipelines, delayers)",
                    "test.yaml:7:5: pipelines[0].source: give either table or query (neither is set)",
                    "test.yaml:9:5: pipelines[0].sourc: unknown key (did you mean \"source\"?)",
                    "test.yaml:10:35: pipelines[0].sink.confg: unknown key (did you mean \"config\"?)",
                    "test.yaml:11:13: pipelines[0].batch.max_message: unknown key (did you mean "
                    "\"max_messages\"?)"));
}

TEST(ParseConfigErrors, ReportsMissingRequiredKeysAtTheirSection) {
    EXPECT_THAT(errors(R"(postgres:
  url: postgresql://u@h/db
pipelines:
  - name: p
    source: {table: products}
    sink: {config: {}}
delayers:
  - {name: d}
)"),
                ElementsAre("test.yaml:1:1: kafka.brokers: required key is missing",
                            "test.yaml:4:5: pipelines[0].topic: required key is missing",
                            "test.yaml:6:11: pipelines[0].sink.plugin: required key is missing",
                            "test.yaml:8:5: delayers[0].topic: required key is missing",
                            "test.yaml:8:5: delayers[0].target_topic: required key is missing"));
}

TEST(ParseConfigErrors, ReportsAnEmptyFile) {
    EXPECT_THAT(errors("# nothing here\n"), ElementsAre("test.yaml: kafka.brokers: required key is missing"));
    EXPECT_THAT(errors("kafka: {brokers: k}\n"),
                ElementsAre("test.yaml:1:1: nothing to run: configure at least one pipeline or delayer"));
}

TEST(ParseConfigErrors, ReportsInvalidYamlWithItsPosition) {
    EXPECT_THAT(errors("kafka:\n  brokers: [a, b\npipelines: []\n"),
                ElementsAre("test.yaml:3:10: invalid YAML: end of sequence flow not found"));
}

TEST(ParseConfigErrors, ExplainsTabIndentation) {
    EXPECT_THAT(
        errors("kafka:\n\tbrokers: a\n"),
        ElementsAre(
            "test.yaml:2:9: invalid YAML: illegal map value (YAML is indented with spaces, not tabs)"));
}

TEST(ParseConfigErrors, ExplainsAnUnquotedVariableInFlowStyle) {
    EXPECT_THAT(errors("kafka: {brokers: ${KAFKA}}\n", {{"KAFKA", "k"}}),
                ElementsAre(HasSubstr("(inside {...} or [...], put a value with ${...} in quotes)")));
}

TEST(ParseConfigErrors, RejectsDuplicateKeysAndSeveralDocuments) {
    EXPECT_THAT(errors(with_connections(std::string(kOnePipeline) + "    topic: u\n")),
                ElementsAre("test.yaml:10:5: pipelines[0].topic: duplicate key (first given on line 7)"));
    EXPECT_THAT(errors(with_connections(std::string(kOnePipeline) + "---\nkafka: {brokers: k}\n")),
                ElementsAre("test.yaml:11:1: a config file holds one YAML document, this one has 2"));
}

TEST(ParseConfigErrors, RejectsDuplicateKeysInsideSinkConfigAndProperties) {
    EXPECT_THAT(errors(R"(kafka:
  brokers: k
  properties: {linger.ms: 1, linger.ms: 2}
delayers: [{name: d, topic: a, target_topic: b}]
)"),
                ElementsAre("test.yaml:3:30: kafka.properties[\"linger.ms\"]: duplicate key"));
}

TEST(ParseConfigErrors, CollectsEveryErrorOfTheFile) {
    const std::vector<std::string> found = errors(R"(kafka: {}
postgres: {pool_size: 0}
http: {listen: "localhost"}
pipelines:
  - {name: "a b", topic: "t/u", source: {table: "x y"}, sink: {plugin: "Elastic Search"}}
  - {name: ok, topic: t, source: {table: t, query: "SELECT 1"}, sink: {plugin: es, config: [1]}}
)");
    EXPECT_EQ(found.size(), 9U) << ::testing::PrintToString(found);
}

TEST(ParseConfigErrors, RejectsBadNames) {
    EXPECT_THAT(
        errors(with_connections(R"(pipelines:
  - {name: "a b", topic: "t/u", source: {table: products}, sink: {plugin: "Elastic Search"}}
  - {name: "", topic: t, source: {table: products}, sink: {plugin: es}, dead_letter_topic: ".."}
)")),
        ElementsAre(
            "test.yaml:6:12: pipelines[0].name: expected a name made of letters, digits, '.', '_' and '-', "
            "got \"a b\"",
            "test.yaml:6:26: pipelines[0].topic: expected a Kafka topic name (letters, digits, '.', '_' and "
            "'-'), got \"t/u\"",
            "test.yaml:6:75: pipelines[0].sink.plugin: expected a plugin name ([a-z0-9_-]+) or a path to a "
            "shared object (with a '/'), got \"Elastic Search\"",
            "test.yaml:7:12: pipelines[1].name: expected a name made of letters, digits, '.', '_' and '-', "
            "got \"\"",
            "test.yaml:7:92: pipelines[1].dead_letter_topic: expected a Kafka topic name (letters, digits, "
            "'.', '_' and '-'), got \"..\""));
    const std::string long_topic(250, 't');
    EXPECT_THAT(
        errors(with_connections("pipelines:\n  - {name: p, topic: " + long_topic +
                                ", source: {table: a}, sink: {plugin: es}}\n")),
        ElementsAre(HasSubstr("pipelines[0].topic: expected a Kafka topic name (letters, digits, '.', '_' "
                              "and '-'), got \"tttt")));
}

TEST(ParseConfigErrors, RejectsDuplicateNamesAcrossPipelinesAndDelayers) {
    EXPECT_THAT(
        errors(with_connections(R"(pipelines:
  - {name: search, topic: t, source: {table: a}, sink: {plugin: es}}
  - {name: search, topic: u, source: {table: b}, sink: {plugin: es}}
delayers:
  - {name: search, topic: t-delay, target_topic: t}
)")),
        ElementsAre("test.yaml:7:12: pipelines[1].name: duplicate name \"search\" (also used by "
                    "pipelines[0]); pipeline and delayer names are Kafka group ids and must be unique",
                    "test.yaml:9:12: delayers[0].name: duplicate name \"search\" (also used by "
                    "pipelines[0]); pipeline and delayer names are Kafka group ids and must be unique"));
}

TEST(ParseConfigErrors, RequiresExactlyOneOfTableAndQuery) {
    EXPECT_THAT(
        errors(with_connections(R"(pipelines:
  - name: both
    topic: t
    source:
      table: products
      query: SELECT id, row_to_json(p) FROM products p WHERE id = ANY($1)
    sink: {plugin: es}
  - name: neither
    topic: t
    source: {id_column: id}
    sink: {plugin: es}
  - name: absent
    topic: t
    sink: {plugin: es}
)")),
        ElementsAre("test.yaml:9:7: pipelines[0].source: give either table or query, not both",
                    "test.yaml:14:13: pipelines[1].source: give either table or query (neither is set)",
                    "test.yaml:16:5: pipelines[2].source: give either table or query (neither is set)"));
}

TEST(ParseConfigErrors, RejectsTableAndColumnNamesThatAreNotIdentifiers) {
    EXPECT_THAT(
        errors(with_connections(R"(pipelines:
  - name: p
    topic: t
    source:
      table: products; DROP TABLE users
      id_column: id)--
    sink: {plugin: es}
  - {name: q, topic: t, source: {table: a.b.c}, sink: {plugin: es}}
)")),
        ElementsAre("test.yaml:9:14: pipelines[0].source.table: expected a table name like products or "
                    "public.products, got \"products; DROP TABLE users\": ';' is not allowed in an unquoted "
                    "identifier (double-quote the name to use it)",
                    "test.yaml:10:18: pipelines[0].source.id_column: expected a column name, got \"id)--\": "
                    "')' is not allowed in an unquoted identifier (double-quote the name to use it)",
                    "test.yaml:12:41: pipelines[1].source.table: expected a table name like products or "
                    "public.products, got \"a.b.c\": expected table or schema.table, got 3 parts"));
}

TEST(ParseConfig, ReadsTheVersionExpressionAndLeavesItUnsetByDefault) {
    const Config config = parsed(with_connections(R"(pipelines:
  - {name: p, topic: t, source: {table: products, version: "lock_version + 1"}, sink: {plugin: es}}
  - {name: q, topic: t, source: {table: products}, sink: {plugin: es}}
)"));
    EXPECT_EQ(config.pipelines.at(0).source.version, "lock_version + 1");
    EXPECT_EQ(config.pipelines.at(1).source.version, std::nullopt);
}

TEST(ParseConfigErrors, RefusesAnEmptyVersionAndOneWithParameters) {
    EXPECT_THAT(
        errors(with_connections(R"(pipelines:
  - {name: p, topic: t, source: {table: products, version: "  "}, sink: {plugin: es}}
  - {name: q, topic: t, source: {table: products, version: "updated_at + $2 * interval '1s'"}, sink: {plugin: es}}
)")),
        ElementsAre(HasSubstr("pipelines[0].source.version: expected an SQL expression over the row, e.g. "
                              "updated_at, without parameters, got \"  \": it is empty"),
                    HasSubstr("pipelines[1].source.version: expected an SQL expression over the row, e.g. "
                              "updated_at, without parameters, got \"updated_at + $2 * interval '1s'\": it "
                              "uses $2; it is evaluated on each row and takes no parameter")));
}

TEST(ParseConfigErrors, RequiresACustomQueryToUseExactlyParameterOne) {
    EXPECT_THAT(
        errors(with_connections(R"yaml(pipelines:
  - {name: a, topic: t, source: {query: "SELECT id, doc FROM v WHERE id = 5"}, sink: {plugin: es}}
  - {name: b, topic: t, source: {query: "SELECT id, doc FROM v WHERE id = ANY($1) AND x = $2"}, sink: {plugin: es}}
  - {name: c, topic: t, source: {query: "SELECT id, '$2' FROM v WHERE id = ANY($1)"}, sink: {plugin: es}}
)yaml")),
        ElementsAre(
            "test.yaml:6:41: pipelines[0].source.query: expected a query that uses $1 (the array of ids) "
            "and no other parameter, got \"SELECT id, doc FROM v WHERE id = 5\": $1 is missing, e.g. WHERE "
            "p.id = ANY($1)",
            "test.yaml:7:41: pipelines[1].source.query: expected a query that uses $1 (the array of ids) "
            "and no other parameter, got \"SELECT id, doc FROM v WHERE id = ANY($1) AND x = $2\": it also "
            "uses $2"));
}

TEST(ParseConfigErrors, RejectsKafkaPropertiesTheIndexerSetsItself) {
    EXPECT_THAT(
        errors(R"(kafka:
  brokers: k
  properties:
    group.id: mine
    enable.auto.commit: true
    bootstrap.servers: x
    security.protocol: SSL
delayers: [{name: d, topic: a, target_topic: b}]
)"),
        ElementsAre("test.yaml:4:5: kafka.properties[\"group.id\"]: cannot be set here: the indexer sets it: "
                    "each pipeline and delayer uses its name as its group id",
                    "test.yaml:5:5: kafka.properties[\"enable.auto.commit\"]: cannot be set here: the "
                    "indexer commits offsets itself, only after a batch is written",
                    "test.yaml:6:5: kafka.properties[\"bootstrap.servers\"]: cannot be set here: set "
                    "kafka.brokers instead"));
}

TEST(ParseConfigErrors, RequiresPostgresOnlyWhenThereArePipelines) {
    EXPECT_THAT(
        errors("kafka: {brokers: k}\n" + std::string(kOnePipeline)),
        ElementsAre("test.yaml:1:1: postgres.url: required key is missing (the pipelines reload rows from "
                    "PostgreSQL)"));
    const Config delayers_only =
        parsed("kafka: {brokers: k}\ndelayers: [{name: d, topic: a, target_topic: b}]\n");
    EXPECT_EQ(delayers_only.postgres.url, "");
}

TEST(ParseConfigErrors, NeverEchoesAnInvalidPostgresUrl) {
    const std::vector<std::string> found = errors(
        "kafka: {brokers: k}\npostgres: {url: \"mysql://root:hunter2@db\"}\n" + std::string(kOnePipeline));
    EXPECT_THAT(found,
                ElementsAre("test.yaml:2:17: postgres.url: expected a libpq connection string "
                            "(postgresql://... or key=value ...) (the value is not shown: it may hold a "
                            "password)"));
}

TEST(ParseConfigErrors, ChecksValuesAgainstEachOther) {
    EXPECT_THAT(
        errors(with_connections(R"(pipelines:
  - {name: p, topic: t, source: {table: a}, sink: {plugin: es}, dead_letter_topic: t, retry: {initial: 1m, max: 1s}}
delayers:
  - {name: d, topic: t, target_topic: t}
)")),
        ElementsAre("test.yaml:6:84: pipelines[0].dead_letter_topic: must differ from topic",
                    "test.yaml:6:104: pipelines[0].retry.initial: is longer than max (1m > 1s)",
                    "test.yaml:8:39: delayers[0].target_topic: must differ from topic (the delayer would "
                    "re-publish to itself)"));
}

TEST(ParseConfigErrors, RejectsAListenAddressWithoutPortOrWithABadHost) {
    for (const char* listen : {"localhost", "127.0.0.1:", "127.0.0.1:70000", ":9464", "a b:1", "[::1:9464"}) {
        EXPECT_THAT(
            errors(with_connections("http: {listen: \"" + std::string(listen) + "\"}\n" +
                                    std::string(kOnePipeline))),
            ElementsAre(HasSubstr("http.listen: expected an address like 127.0.0.1:9464 or [::1]:9464")))
            << listen;
    }
}

TEST(ParseConfigErrors, RejectsASinkConfigThatIsNotAMapping) {
    EXPECT_THAT(errors(with_connections(R"(pipelines:
  - {name: p, topic: t, source: {table: a}, sink: {plugin: es, config: [1, 2]}}
)")),
                ElementsAre("test.yaml:6:72: pipelines[0].sink.config: expected a mapping, got a list"));
}

TEST(LoadConfig, ReportsAFileThatCannotBeRead) {
    Result<Config> config = load_config("/nonexistent/indexer.yaml", fake_environment());
    ASSERT_FALSE(config.is_ok());
    EXPECT_EQ(config.error(), "cannot read config file /nonexistent/indexer.yaml: No such file or directory");
}

TEST(LoadConfig, NamesTheFileInEveryError) {
    Result<Config> config = load_config(std::filesystem::path(INDEXER_SOURCE_DIR) / "config" / "demo.yaml",
                                        fake_environment({{"INDEXER_LOG_LEVEL", "verbose"}}));
    ASSERT_FALSE(config.is_ok());
    EXPECT_THAT(config.error(), HasSubstr("config/demo.yaml:"));
    EXPECT_THAT(config.error(),
                HasSubstr(": logging.level: expected one of trace, debug, info, warn, error, got "
                          "\"verbose\" (from \"${INDEXER_LOG_LEVEL:-info}\")"));
}
