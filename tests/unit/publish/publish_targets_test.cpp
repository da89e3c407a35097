// Where `indexer publish --pipeline NAME` sends the messages of an id.
#include <indexer/cli/publish_command.hpp>
#include <indexer/config/loader.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace indexer::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

config::Config parsed(std::string delayers) {
    const std::string text = R"(kafka:
  brokers: k:9092
postgres:
  url: postgresql://u@h/db
pipelines:
  - name: search
    topic: products
    source: {table: products}
    sink: {plugin: elasticsearch}
  - name: orders
    topic: orders
    id_field: order_id
    source: {table: orders}
    sink: {plugin: elasticsearch}
)" + delayers;
    auto config = config::parse_config(text, "test.yaml",
                                       [](const std::string&) -> std::optional<std::string> { return {}; });
    EXPECT_TRUE(config) << config.error();
    return config ? std::move(config).value() : config::Config{};
}

TEST(PublishTargets, UsesThePipelinesTopicAndIdField) {
    const auto targets = publish_targets(parsed(""), "orders", "", false);
    ASSERT_TRUE(targets) << targets.error();
    EXPECT_EQ(targets->topic, "orders");
    EXPECT_EQ(targets->id_field, "order_id");
}

TEST(PublishTargets, FallsBackToKafkaSyncsDelayTopicWithoutADelayer) {
    const auto targets = publish_targets(parsed(""), "search", "", false);
    ASSERT_TRUE(targets) << targets.error();
    EXPECT_THAT(targets->delay_topics, ElementsAre("products-delay"));
}

TEST(PublishTargets, UsesTheDelayTopicOfEveryDelayerTargetingThePipelinesTopic) {
    const auto targets = publish_targets(parsed(R"(delayers:
  - {name: fast, topic: products-later, target_topic: products, delay: 10s}
  - {name: other, topic: orders-delay, target_topic: orders}
  - {name: slow, topic: products-much-later, target_topic: products, delay: 1h}
  - {name: again, topic: products-later, target_topic: products, delay: 20s}
)"),
                                         "search", "", false);
    ASSERT_TRUE(targets) << targets.error();
    EXPECT_THAT(targets->delay_topics, ElementsAre("products-later", "products-much-later"));
}

TEST(PublishTargets, DelayTopicOptionReplacesTheDelayers) {
    const auto targets = publish_targets(parsed(R"(delayers:
  - {name: fast, topic: products-later, target_topic: products}
)"),
                                         "search", "mine", false);
    ASSERT_TRUE(targets) << targets.error();
    EXPECT_THAT(targets->delay_topics, ElementsAre("mine"));
}

TEST(PublishTargets, NoDelaySendsNoDelayMessage) {
    const auto targets = publish_targets(parsed(""), "search", "", true);
    ASSERT_TRUE(targets) << targets.error();
    EXPECT_EQ(targets->topic, "products");
    EXPECT_THAT(targets->delay_topics, IsEmpty());
}

TEST(PublishTargets, UnknownPipelineNamesTheKnownOnes) {
    const auto targets = publish_targets(parsed(""), "serch", "", false);
    ASSERT_FALSE(targets);
    EXPECT_THAT(targets.error(),
                HasSubstr("no pipeline named \"serch\" in test.yaml (pipelines: search, orders)"));
}

}  // namespace
}  // namespace indexer::cli
