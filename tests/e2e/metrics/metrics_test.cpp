// The operations endpoint of `indexer run` as Prometheus and an orchestrator
// see it: the counters scraped from /metrics match what the run did, and
// /readyz and indexer_pipeline_paused follow the sink going away and coming
// back.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/http.hpp"
#include "support/kafka_client.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

// The samples of a text exposition (label values here hold no escaped quotes).
std::vector<Sample> parse_samples(const std::string& text) {
    std::vector<Sample> samples;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#') continue;
        Sample sample;
        const std::size_t brace = line.find('{');
        const std::size_t space = line.rfind(' ');
        std::size_t name_end = space;
        if (brace != std::string::npos && brace < space) {
            name_end = brace;
            const std::string labels = line.substr(brace + 1, line.rfind('}') - brace - 1);
            std::size_t at = 0;
            while (at < labels.size()) {
                const std::size_t equals = labels.find('=', at);
                const std::size_t close = labels.find('"', equals + 2);
                sample.labels[labels.substr(at, equals - at)] = labels.substr(equals + 2, close - equals - 2);
                at = close + 2;  // past `",`
            }
        }
        sample.name = line.substr(0, name_end);
        sample.value = std::stod(line.substr(space + 1));
        samples.push_back(std::move(sample));
    }
    return samples;
}

// The value of the sample `name` whose labels include `labels`; nothing when none.
std::optional<double> value_of(const std::string& text, const std::string& name,
                               const std::map<std::string, std::string>& labels) {
    for (const Sample& sample : parse_samples(text)) {
        if (sample.name != name) continue;
        bool matches = true;
        for (const auto& [key, value] : labels) {
            const auto found = sample.labels.find(key);
            matches = matches && found != sample.labels.end() && found->second == value;
        }
        if (matches) return sample.value;
    }
    return std::nullopt;
}

std::string scrape(const std::string& base) {
    const HttpResponse response = http("GET", base + "/metrics");
    return response.status == 200 ? response.body : std::string();
}

std::string pipeline_config(const std::string& brokers, const std::string& listen,
                            const std::string& postgres, const std::string& name,
                            const std::string& sink_url) {
    return fmt::format(R"(
kafka:
  brokers: {brokers}
http:
  listen: "{listen}"
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{sink}"], index: {name}}}}}
    batch: {{max_messages: 20, max_wait: 200ms}}
    retry: {{initial: 100ms, max: 1s}}
)",
                       fmt::arg("brokers", brokers), fmt::arg("listen", listen),
                       fmt::arg("postgres", postgres), fmt::arg("name", name), fmt::arg("sink", sink_url));
}

TEST(Metrics, CountersScrapedFromMetricsMatchWhatTheRunDid) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("metrics");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    Cleanup cleanup([&] {
        database.execute("DROP TABLE IF EXISTS " + name);
        index.remove();
    });
    // 40 rows; ids 41..50 are announced but do not exist (deletes).
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'product ' || g FROM generate_series(1, 40) g",
                    name));
    create_topic(brokers, name, 2);
    create_topic(brokers, name + "-dead-letter", 1);

    const std::string listen = free_listen_address();
    const std::string base = "http://" + listen;
    IndexerProcess indexer(name, pipeline_config(brokers, listen, postgres, name, elasticsearch));

    // Every id once (so that de-duplication cannot depend on how batches fall),
    // and two messages that hold no id.
    TestProducer producer(brokers);
    for (int id = 1; id <= 50; ++id)
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    producer.send(name, std::string("bad-1"), std::string("not json"));
    producer.send(name, std::string("bad-2"), std::string(R"({"name": "no id"})"));
    producer.flush();

    ASSERT_EQ(wait_until_committed(brokers, name, name, 52, seconds(90)), 52) << indexer.output();
    // Counters are updated before the commit they belong to.
    const std::string text = scrape(base);
    ASSERT_FALSE(text.empty()) << "no answer on " << base << "/metrics\n" << indexer.output();
    const std::map<std::string, std::string> pipeline{{"pipeline", name}};
    EXPECT_EQ(value_of(text, "indexer_pipeline_messages_consumed_total", pipeline), 52) << text;
    EXPECT_EQ(value_of(text, "indexer_pipeline_ids_total", pipeline), 50);
    EXPECT_EQ(value_of(text, "indexer_pipeline_rows_loaded_total", pipeline), 40);
    EXPECT_EQ(value_of(text, "indexer_pipeline_upserts_total", pipeline), 40);
    EXPECT_EQ(value_of(text, "indexer_pipeline_deletes_total", pipeline), 10);
    EXPECT_EQ(
        value_of(text, "indexer_pipeline_dead_letters_total", {{"pipeline", name}, {"reason", "parse"}}), 2);
    EXPECT_EQ(value_of(text, "indexer_pipeline_dead_letters_total",
                       {{"pipeline", name}, {"reason", "sink-reject"}}),
              0);
    EXPECT_EQ(value_of(text, "indexer_pipeline_end_to_end_delay_seconds_count", pipeline), 52);
    EXPECT_EQ(value_of(text, "indexer_pipeline_assigned_partitions", pipeline), 2);
    EXPECT_EQ(value_of(text, "indexer_pipeline_paused", {{"pipeline", name}, {"reason", "sink"}}), 0);
    // Every committed batch went through every stage once.
    const auto batches = value_of(text, "indexer_pipeline_batch_stage_duration_seconds_count",
                                  {{"pipeline", name}, {"stage", "commit"}});
    ASSERT_TRUE(batches.has_value());
    EXPECT_GE(*batches, 3);  // at most 20 messages a batch
    for (const char* stage : {"poll", "load", "write"}) {
        EXPECT_EQ(value_of(text, "indexer_pipeline_batch_stage_duration_seconds_count",
                           {{"pipeline", name}, {"stage", stage}}),
                  batches)
            << stage;
        EXPECT_EQ(value_of(text, "indexer_pipeline_batch_stage_duration_seconds_bucket",
                           {{"pipeline", name}, {"stage", stage}, {"le", "+Inf"}}),
                  batches)
            << stage;
    }
    EXPECT_EQ(value_of(text, "indexer_build_info", {}), 1);
    EXPECT_GT(value_of(text, "indexer_process_resident_memory_bytes", {}).value_or(0), 0);
    EXPECT_GT(value_of(text, "indexer_process_start_time_seconds", {}).value_or(0), 1.6e9);
    EXPECT_EQ(index.count(), 40);

    // The lag, refreshed in the background, reaches 0 on both partitions.
    std::string last;
    EXPECT_TRUE(eventually(
        [&] {
            last = scrape(base);
            const auto lag0 = value_of(last, "indexer_pipeline_consumer_lag_messages",
                                       {{"pipeline", name}, {"partition", "0"}});
            const auto lag1 = value_of(last, "indexer_pipeline_consumer_lag_messages",
                                       {{"pipeline", name}, {"partition", "1"}});
            return lag0 == 0 && lag1 == 0;
        },
        seconds(30)))
        << last;

    EXPECT_EQ(http("GET", base + "/healthz").status, 200);
    HttpResponse ready;
    EXPECT_TRUE(eventually(
        [&] {
            ready = http("GET", base + "/readyz");
            return ready.status == 200;
        },
        seconds(30)))
        << ready.status << " " << ready.body;
    EXPECT_EQ(nlohmann::json::parse(ready.body)["not_ready"], nlohmann::json::array());

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

TEST(Readiness, ReadyzFailsAndThePausedMetricRisesWhileTheSinkIsUnreachable) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("readyz");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    Cleanup cleanup([&] {
        database.execute("DROP TABLE IF EXISTS " + name);
        index.remove();
    });
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'product ' || g FROM generate_series(1, 5) g",
                    name));
    create_topic(brokers, name, 1);
    create_topic(brokers, name + "-dead-letter", 1);

    const auto proxy = TcpProxy::for_url(elasticsearch);
    proxy->start();
    const std::string listen = free_listen_address();
    const std::string base = "http://" + listen;
    IndexerProcess indexer(name, pipeline_config(brokers, listen, postgres, name, proxy->url()));
    const std::map<std::string, std::string> paused_for_sink{{"pipeline", name}, {"reason", "sink"}};

    HttpResponse ready;
    const auto readyz_is = [&](long status) {
        return eventually(
            [&] {
                ready = http("GET", base + "/readyz");
                return ready.status == status;
            },
            seconds(60));
    };
    ASSERT_TRUE(readyz_is(200)) << ready.status << " " << ready.body << "\n" << indexer.output();

    proxy->stop();
    ASSERT_TRUE(readyz_is(503)) << ready.body;
    const auto body = nlohmann::json::parse(ready.body);
    EXPECT_EQ(body["not_ready"], nlohmann::json::array({"pipeline " + name + ": sink"})) << ready.body;

    // A message that cannot be written: the partition pauses for the sink.
    TestProducer producer(brokers);
    producer.send(name, std::string("1"), std::string(R"({"id": 1})"));
    producer.flush();
    std::string text;
    EXPECT_TRUE(eventually(
        [&] {
            text = scrape(base);
            return value_of(text, "indexer_pipeline_paused", paused_for_sink) == 1;
        },
        seconds(60)))
        << text;

    proxy->start();
    EXPECT_TRUE(readyz_is(200)) << ready.body;
    EXPECT_TRUE(eventually(
        [&] {
            text = scrape(base);
            return value_of(text, "indexer_pipeline_paused", paused_for_sink) == 0 &&
                   value_of(text, "indexer_pipeline_upserts_total", {{"pipeline", name}}) == 1;
        },
        seconds(60)))
        << text;
    // The ops written again are counted once their write settled.
    EXPECT_GT(
        value_of(text, "indexer_pipeline_retries_total", {{"pipeline", name}, {"stage", "sink"}}).value_or(0),
        0);

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

}  // namespace
}  // namespace indexer::testing
