// Proves the Kafka broker from C++: produce, consume in a consumer group,
// commit, and read the committed offset back.
#include "support/test_services.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <memory>
#include <string>

namespace {

std::unique_ptr<RdKafka::Conf> conf_for(const std::string& brokers) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    EXPECT_EQ(conf->set("bootstrap.servers", brokers, error), RdKafka::Conf::CONF_OK) << error;
    return conf;
}

TEST(KafkaSmoke, ProducedMessageIsConsumedByAGroupAndItsOffsetCommitted) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string topic = indexer::testing::unique_name("smoke");
    const std::string group = indexer::testing::unique_name("smoke_group");
    std::string error;

    auto producer_conf = conf_for(brokers);
    ASSERT_EQ(producer_conf->set("enable.idempotence", "true", error), RdKafka::Conf::CONF_OK) << error;
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(producer_conf.get(), error));
    ASSERT_TRUE(producer) << error;
    const std::string key = "42";
    const std::string value = R"({"id": 42})";
    ASSERT_EQ(producer->produce(topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                value.size(), key.data(), key.size(), 0, nullptr),
              RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(producer->flush(30'000), RdKafka::ERR_NO_ERROR);

    auto consumer_conf = conf_for(brokers);
    ASSERT_EQ(consumer_conf->set("group.id", group, error), RdKafka::Conf::CONF_OK);
    ASSERT_EQ(consumer_conf->set("auto.offset.reset", "earliest", error), RdKafka::Conf::CONF_OK);
    ASSERT_EQ(consumer_conf->set("enable.auto.commit", "false", error), RdKafka::Conf::CONF_OK);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(consumer_conf.get(), error));
    ASSERT_TRUE(consumer) << error;
    ASSERT_EQ(consumer->subscribe({topic}), RdKafka::ERR_NO_ERROR);

    std::unique_ptr<RdKafka::Message> message;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        message.reset(consumer->consume(500));
        if (message->err() == RdKafka::ERR_NO_ERROR) break;
    }
    ASSERT_TRUE(message);
    ASSERT_EQ(message->err(), RdKafka::ERR_NO_ERROR) << message->errstr();
    EXPECT_EQ(std::string(static_cast<const char*>(message->payload()), message->len()), value);
    ASSERT_NE(message->key(), nullptr);
    EXPECT_EQ(*message->key(), key);

    ASSERT_EQ(consumer->commitSync(message.get()), RdKafka::ERR_NO_ERROR);
    std::vector<RdKafka::TopicPartition*> partitions{
        RdKafka::TopicPartition::create(topic, message->partition())};
    ASSERT_EQ(consumer->committed(partitions, 10'000), RdKafka::ERR_NO_ERROR);
    EXPECT_EQ(partitions[0]->offset(), message->offset() + 1);
    RdKafka::TopicPartition::destroy(partitions);
    consumer->close();
}

}  // namespace
