// `indexer check-config` against the real broker: a pipeline's dead-letter
// topic that does not exist is reported with the topic, the pipeline and the
// key that names it; the check fails when producing would not create the topic,
// warns when the broker would create it at the first dead letter, and never
// creates it itself.
#include <indexer/kafka/admin.hpp>

#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/kafka_client.hpp"
#include "support/process.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace indexer::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

struct Checked {
    int exit_status = -1;
    std::string output;
};

class CheckConfig : public ::testing::Test {
protected:
    void SetUp() override {
        INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
        INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
        INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
        brokers_ = brokers;
        postgres_ = postgres;
        elasticsearch_ = elasticsearch;
        name_ = unique_name("check_dlt");
        database_ = std::make_unique<Database>(postgres_);
        database_->execute("CREATE TABLE " + name_ + " (id bigint PRIMARY KEY, name text)");
        create_topic(brokers_, name_, 2);
    }

    void TearDown() override {
        if (database_) database_->execute("DROP TABLE IF EXISTS " + name_);
    }

    // One pipeline on the scratch topic and table; `dead_letter_topic` set
    // explicitly, `kafka_properties` added under kafka.properties.
    std::string config(const std::string& dead_letter_topic, const std::string& kafka_properties = {}) const {
        return fmt::format(
            R"(
kafka:
  brokers: {brokers}
{properties}
http:
  listen: "{listen}"
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    dead_letter_topic: {dead_letter_topic}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
)",
            fmt::arg("brokers", brokers_),
            fmt::arg("properties", kafka_properties.empty() ? "" : "  properties:\n" + kafka_properties),
            fmt::arg("listen", free_listen_address()), fmt::arg("postgres", postgres_),
            fmt::arg("name", name_), fmt::arg("dead_letter_topic", dead_letter_topic),
            fmt::arg("elasticsearch", elasticsearch_));
    }

    static Checked check(const std::string& config_yaml) {
        const auto directory = scratch_directory("check_config");
        const auto file = directory / "indexer.yaml";
        std::ofstream(file) << config_yaml;
        ChildProcess process(indexer_binary(), {"check-config", "-c", file.string()},
                             directory / "output.log");
        auto status = process.wait(seconds(120));
        if (!status) {
            process.signal(SIGKILL);
            status = process.wait(seconds(10));
        }
        return {status.value_or(-1), process.output()};
    }

    // The report's line about `topic` ("" when there is none).
    static std::string line_about(const std::string& output, const std::string& topic) {
        std::istringstream in(output);
        std::string line;
        while (std::getline(in, line)) {
            if (line.find("kafka topic " + topic + " ") != std::string::npos) return line;
        }
        return {};
    }

    bool topic_exists(const std::string& topic) const {
        auto admin = kafka::Admin::create({brokers_, "check-config-test", {}});
        if (!admin) throw std::runtime_error(admin.error());
        auto partitions = admin.value()->partition_count(topic, seconds(10));
        if (!partitions) throw std::runtime_error(partitions.error());
        return partitions.value().has_value();
    }

    std::string brokers_;
    std::string postgres_;
    std::string elasticsearch_;
    std::string name_;
    std::unique_ptr<Database> database_;
};

TEST_F(CheckConfig, FailsWhenTheDeadLetterTopicIsMissingAndProducingWouldNotCreateIt) {
    const std::string missing = name_ + "-dead-letter";

    const Checked checked = check(config(missing, "    allow.auto.create.topics: \"false\""));

    EXPECT_EQ(checked.exit_status, 1) << checked.output;
    const std::string line = line_about(checked.output, missing);
    EXPECT_THAT(line, ::testing::StartsWith("FAIL")) << checked.output;
    EXPECT_THAT(line, HasSubstr("pipeline " + name_)) << checked.output;
    EXPECT_THAT(line, HasSubstr("pipelines[0].dead_letter_topic")) << checked.output;
    EXPECT_THAT(line, HasSubstr("does not exist")) << checked.output;
    EXPECT_FALSE(topic_exists(missing)) << "check-config created the topic it reported missing";
}

// The test broker runs with auto.create.topics.enable=true.
TEST_F(CheckConfig, WarnsWhenTheDeadLetterTopicIsMissingButTheBrokerCreatesItOnFirstUse) {
    const std::string missing = name_ + "-dead-letter";

    const Checked checked = check(config(missing));

    EXPECT_EQ(checked.exit_status, 0) << checked.output;
    const std::string line = line_about(checked.output, missing);
    EXPECT_THAT(line, ::testing::StartsWith("warn")) << checked.output;
    EXPECT_THAT(line, HasSubstr("pipelines[0].dead_letter_topic")) << checked.output;
    EXPECT_THAT(line, HasSubstr("auto.create.topics.enable")) << checked.output;
    EXPECT_FALSE(topic_exists(missing)) << "check-config created the topic it reported missing";
}

TEST_F(CheckConfig, PassesWhenTheDeadLetterTopicExists) {
    const std::string existing = name_ + "-dlq";
    create_topic(brokers_, existing, 1);

    const Checked checked = check(config(existing, "    allow.auto.create.topics: \"false\""));

    EXPECT_EQ(checked.exit_status, 0) << checked.output;
    const std::string line = line_about(checked.output, existing);
    EXPECT_THAT(line, ::testing::StartsWith("ok")) << checked.output;
    EXPECT_THAT(line, HasSubstr("1 partitions (dead letters of pipeline " + name_ + ")")) << checked.output;
}

TEST_F(CheckConfig, ProbesTheVersionExpressionAndSaysWhatDeletesCarry) {
    const std::string existing = name_ + "-dlq";
    create_topic(brokers_, existing, 1);
    database_->execute("ALTER TABLE " + name_ + " ADD COLUMN updated_at timestamptz");
    const std::string source = "source: {table: " + name_ + "}";
    const auto with_version = [&](const std::string& version) {
        std::string text = config(existing);
        text.replace(text.find(source), source.size(),
                     "source: {table: " + name_ + ", version: \"" + version + "\"}");
        return text;
    };

    const Checked good = check(with_version("updated_at"));
    EXPECT_EQ(good.exit_status, 0) << good.output;
    EXPECT_THAT(good.output, HasSubstr("versions from `updated_at` (timestamp with time zone, microseconds; "
                                       "deletes carry the database's clock)"));

    const Checked text_version = check(with_version("name"));
    EXPECT_EQ(text_version.exit_status, 1) << text_version.output;
    EXPECT_THAT(text_version.output,
                HasSubstr("the version expression `name` is of type text; a version must be a timestamp"));

    const Checked no_column = check(with_version("revision + 1"));
    EXPECT_EQ(no_column.exit_status, 1) << no_column.output;
    EXPECT_THAT(no_column.output, HasSubstr("the version expression `revision + 1` does not prepare"));
    EXPECT_THAT(no_column.output, HasSubstr("column \"revision\" does not exist"));
}

}  // namespace
}  // namespace indexer::testing
