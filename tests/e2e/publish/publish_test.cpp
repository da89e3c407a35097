// `indexer publish` as a user runs it: ids on stdin or as arguments, messages
// on the topics, and with `indexer run` consuming them, every row in the sink.
#include "support/e2e.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace indexer::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

std::filesystem::path write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
    return path;
}

// A configuration with one pipeline `<name>-es` on topic `<name>` into the
// Elasticsearch index `<name>`, and a delayer from `<name>-later` to it.
std::string pipeline_config(const std::string& name, const std::string& brokers, const std::string& postgres,
                            const std::string& elasticsearch) {
    return fmt::format(R"(
kafka:
  brokers: {brokers}
postgres:
  url: {postgres}
pipelines:
  - name: {name}-es
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 5000, max_wait: 200ms}}
delayers:
  - name: {name}-delayer
    topic: {name}-later
    target_topic: {name}
    delay: 1h
)",
                       fmt::arg("brokers", brokers), fmt::arg("postgres", postgres), fmt::arg("name", name),
                       fmt::arg("elasticsearch", elasticsearch));
}

TEST(Publish, HundredThousandIdsFromStdinAllReachTheSink) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
    constexpr int kRows = 100'000;

    const std::string name = unique_name("publish");
    const Database database(postgres);
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2));"
                    "INSERT INTO {0} SELECT g, 'product ' || g, g * 0.25 FROM generate_series(1, {1}) g",
                    name, kRows));
    create_topic(brokers, name, 4);
    create_topic(brokers, name + "-later", 4);
    // Only the pipeline: the delayer's messages stay on its topic for this test to count.
    IndexerProcess indexer(name, pipeline_config(name, brokers, postgres, elasticsearch),
                           {"--pipeline", name + "-es"});

    const std::filesystem::path directory = scratch_directory(name + "-publish");
    std::string ids;
    for (int id = 1; id <= kRows; ++id) ids += std::to_string(id) + '\n';
    ChildProcess publish(indexer_binary(),
                         {"publish", "-c", indexer.config_file().string(), "--pipeline", name + "-es"},
                         directory / "publish.log", {}, write_file(directory / "ids.txt", ids));
    const auto status = publish.wait(120s);

    ASSERT_TRUE(status.has_value()) << "indexer publish still runs:\n" << publish.output();
    EXPECT_EQ(*status, 0) << publish.output();
    EXPECT_THAT(publish.output(),
                HasSubstr(fmt::format("100000 sent: 100000 id(s), instant messages to {0}, delay messages to "
                                      "{0}-later",
                                      name)));
    // Not a terminal: no progress line, only the summary.
    EXPECT_THAT(publish.output(), Not(HasSubstr("ids/s")));

    const SearchIndex index(elasticsearch, name);
    const bool all_indexed = eventually(
        [&] {
            index.refresh();
            return index.count() >= kRows;
        },
        100s);
    EXPECT_TRUE(all_indexed) << index.count() << " documents in the index\n" << indexer.output();
    EXPECT_EQ(index.count(), kRows);
    const auto sample = index.get({"1", "54321", "100000"});
    ASSERT_EQ(sample.size(), 3u);
    EXPECT_EQ(sample.at("54321")["name"], "product 54321");
    EXPECT_EQ(sample.at("100000")["price"], 25000.00);
    // Every delay message went to the delayer's topic.
    EXPECT_EQ(read_topic(brokers, name + "-later", kRows, 60s).size(), static_cast<std::size_t>(kRows));

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
    index.remove();
    database.execute("DROP TABLE " + name);
}

TEST(Publish, SkipsBlankLinesAndSendsIntegersAsNumbersAndOtherIdsAsStrings) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
    const std::string name = unique_name("publish");
    create_topic(brokers, name, 1);
    const std::filesystem::path directory = scratch_directory(name);
    const auto config =
        write_file(directory / "indexer.yaml", pipeline_config(name, brokers, postgres, elasticsearch));

    ChildProcess publish(
        indexer_binary(),
        {"publish", "-c", config.string(), "--pipeline", name + "-es", "--no-delay", "-", "-5"},
        directory / "publish.log", {},
        write_file(directory / "ids.txt", "1\n\n  sku-7 \r\n007\n9223372036854775808\n"));
    const auto status = publish.wait(60s);

    ASSERT_TRUE(status.has_value()) << publish.output();
    EXPECT_EQ(*status, 0) << publish.output();
    EXPECT_THAT(publish.output(),
                HasSubstr("5 sent: 5 id(s), instant messages to " + name + ", no delay messages"));
    std::vector<std::pair<std::string, json>> messages;
    for (const auto& message : read_topic(brokers, name, 5, 30s)) {
        messages.emplace_back(message.key.value_or("<null>"), json::parse(message.value.value_or("null")));
    }
    EXPECT_EQ(messages, (std::vector<std::pair<std::string, json>>{
                            {"1", json::parse(R"({"id": 1})")},
                            {"sku-7", json::parse(R"({"id": "sku-7"})")},
                            {"007", json::parse(R"({"id": "007"})")},
                            {"9223372036854775808", json::parse(R"({"id": "9223372036854775808"})")},
                            {"-5", json::parse(R"({"id": -5})")},
                        }));
}

TEST(Publish, ExitsWithFailureNamingHowManyAndWhyWhenKafkaIsUnreachable) {
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
    const std::string name = unique_name("publish");
    const std::filesystem::path directory = scratch_directory(name);
    // Nothing listens on port 1.
    const auto config =
        write_file(directory / "indexer.yaml", pipeline_config(name, "127.0.0.1:1", postgres, elasticsearch));

    ChildProcess publish(
        indexer_binary(),
        {"publish", "-c", config.string(), "--pipeline", name + "-es", "--timeout", "2s", "1", "2", "3"},
        directory / "publish.log");
    const auto status = publish.wait(60s);

    ASSERT_TRUE(status.has_value()) << publish.output();
    EXPECT_EQ(*status, 1) << publish.output();
    EXPECT_THAT(publish.output(), HasSubstr("0 sent, 3 failed: 3 id(s)"));
    EXPECT_THAT(publish.output(), HasSubstr("3 of 3 id(s) not sent (6 message(s) failed)"));
    EXPECT_THAT(publish.output(),
                HasSubstr(fmt::format("3 message(s) to {}: Local: Message timed out", name)));
    EXPECT_THAT(publish.output(),
                HasSubstr(fmt::format("3 message(s) to {}-later: Local: Message timed out", name)));
}

}  // namespace
}  // namespace indexer::testing
