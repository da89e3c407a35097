#include "support/kafka_client.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <stdexcept>
#include <thread>

namespace indexer::testing {
namespace {

std::unique_ptr<RdKafka::Conf> global_conf(const std::string& brokers) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    if (conf->set("bootstrap.servers", brokers, error) != RdKafka::Conf::CONF_OK)
        throw std::runtime_error(error);
    return conf;
}

void set(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
    std::string error;
    if (conf.set(name, value, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(name + ": " + error);
}

class CountFailures : public RdKafka::DeliveryReportCb {
public:
    explicit CountFailures(int& failures) : failures_(&failures) {}
    void dr_cb(RdKafka::Message& message) override {
        if (message.err() != RdKafka::ERR_NO_ERROR) ++*failures_;
    }

private:
    int* failures_;
};

}  // namespace

TestProducer::TestProducer(const std::string& brokers)
    : delivery_report_(std::make_unique<CountFailures>(failures_)) {
    auto conf = global_conf(brokers);
    set(*conf, "enable.idempotence", "true");
    set(*conf, "linger.ms", "5");
    std::string error;
    if (conf->set("dr_cb", delivery_report_.get(), error) != RdKafka::Conf::CONF_OK) {
        throw std::runtime_error(error);
    }
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (!producer_) throw std::runtime_error("producer: " + error);
}

TestProducer::~TestProducer() {
    if (producer_) producer_->flush(10'000);
}

void TestProducer::send(const std::string& topic, const std::optional<std::string>& key,
                        const std::optional<std::string>& value,
                        const std::map<std::string, std::string>& headers) {
    RdKafka::Headers* kafka_headers = RdKafka::Headers::create();
    for (const auto& [name, header_value] : headers) kafka_headers->add(name, header_value);
    while (true) {
        const RdKafka::ErrorCode code =
            producer_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                               value ? const_cast<char*>(value->data()) : nullptr, value ? value->size() : 0,
                               key ? key->data() : nullptr, key ? key->size() : 0, 0, kafka_headers, nullptr);
        if (code == RdKafka::ERR_NO_ERROR) return;  // the headers now belong to the message
        if (code != RdKafka::ERR__QUEUE_FULL) {
            delete kafka_headers;
            throw std::runtime_error("produce: " + RdKafka::err2str(code));
        }
        producer_->poll(100);
    }
}

void TestProducer::flush() {
    if (producer_->flush(60'000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush timed out");
    if (failures_ != 0) throw std::runtime_error(std::to_string(failures_) + " messages were not delivered");
}

void create_topic(const std::string& brokers, const std::string& topic, int partitions) {
    // librdkafka 2.0's C++ API has no admin client: the C API does it.
    auto conf = global_conf(brokers);
    std::string error;
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
    if (!producer) throw std::runtime_error(error);
    rd_kafka_t* rk = producer->c_ptr();
    char errstr[512];
    rd_kafka_NewTopic_t* new_topic =
        rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, errstr, sizeof errstr);
    if (new_topic == nullptr) throw std::runtime_error(errstr);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &new_topic, 1, nullptr, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30'000);
    std::string failure;
    if (event == nullptr) {
        failure = "CreateTopics timed out";
    } else {
        const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
        size_t count = 0;
        const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &count);
        for (size_t i = 0; i < count; ++i) {
            const rd_kafka_resp_err_t code = rd_kafka_topic_result_error(topics[i]);
            if (code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                failure = rd_kafka_err2str(code);
            }
        }
        rd_kafka_event_destroy(event);
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_NewTopic_destroy(new_topic);
    if (!failure.empty()) throw std::runtime_error("create topic " + topic + ": " + failure);

    for (int attempt = 0; attempt < 100; ++attempt) {
        std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(producer.get(), topic, nullptr, error));
        RdKafka::Metadata* metadata = nullptr;
        if (producer->metadata(false, handle.get(), &metadata, 5'000) == RdKafka::ERR_NO_ERROR) {
            const bool ready =
                !metadata->topics()->empty() && metadata->topics()->at(0)->err() == RdKafka::ERR_NO_ERROR &&
                static_cast<int>(metadata->topics()->at(0)->partitions()->size()) == partitions;
            delete metadata;
            if (ready) return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("topic " + topic + " did not appear in the metadata");
}

std::vector<ReadMessage> read_topic(const std::string& brokers, const std::string& topic,
                                    std::size_t expected, std::chrono::milliseconds timeout) {
    auto conf = global_conf(brokers);
    // A group id is required by the consumer, but nothing is ever committed.
    set(*conf, "group.id", "indexer-test-reader");
    set(*conf, "enable.auto.commit", "false");
    std::string error;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer) throw std::runtime_error(error);

    std::unique_ptr<RdKafka::Topic> handle;
    RdKafka::Metadata* metadata = nullptr;
    std::vector<RdKafka::TopicPartition*> partitions;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (partitions.empty() && std::chrono::steady_clock::now() < deadline) {
        if (consumer->metadata(true, nullptr, &metadata, 5'000) == RdKafka::ERR_NO_ERROR) {
            for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
                if (t->topic() != topic || t->err() != RdKafka::ERR_NO_ERROR) continue;
                for (const RdKafka::PartitionMetadata* p : *t->partitions()) {
                    partitions.push_back(
                        RdKafka::TopicPartition::create(topic, p->id(), RdKafka::Topic::OFFSET_BEGINNING));
                }
            }
            delete metadata;
        }
        if (partitions.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::vector<ReadMessage> messages;
    if (partitions.empty()) return messages;
    consumer->assign(partitions);
    RdKafka::TopicPartition::destroy(partitions);
    while (messages.size() < expected && std::chrono::steady_clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
        if (message->err() != RdKafka::ERR_NO_ERROR) continue;
        ReadMessage read;
        if (message->key() != nullptr) read.key = *message->key();
        if (message->payload() != nullptr) {
            read.value = std::string(static_cast<const char*>(message->payload()), message->len());
        }
        read.partition = message->partition();
        read.offset = message->offset();
        read.timestamp_ms = message->timestamp().timestamp;
        if (RdKafka::Headers* headers = message->headers()) {
            for (const RdKafka::Headers::Header& header : headers->get_all()) {
                read.headers[header.key()] =
                    header.value() == nullptr
                        ? std::string{}
                        : std::string(static_cast<const char*>(header.value()), header.value_size());
            }
        }
        messages.push_back(std::move(read));
    }
    consumer->close();
    return messages;
}

std::map<std::int32_t, std::int64_t> committed_offsets(const std::string& brokers, const std::string& group,
                                                       const std::string& topic) {
    auto conf = global_conf(brokers);
    set(*conf, "group.id", group);
    set(*conf, "enable.auto.commit", "false");
    std::string error;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer) throw std::runtime_error(error);
    RdKafka::Metadata* metadata = nullptr;
    std::vector<RdKafka::TopicPartition*> partitions;
    if (consumer->metadata(true, nullptr, &metadata, 10'000) == RdKafka::ERR_NO_ERROR) {
        for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
            if (t->topic() != topic) continue;
            for (const RdKafka::PartitionMetadata* p : *t->partitions()) {
                partitions.push_back(RdKafka::TopicPartition::create(topic, p->id()));
            }
        }
        delete metadata;
    }
    std::map<std::int32_t, std::int64_t> offsets;
    if (consumer->committed(partitions, 10'000) == RdKafka::ERR_NO_ERROR) {
        for (const RdKafka::TopicPartition* partition : partitions) {
            offsets[partition->partition()] = partition->offset();
        }
    }
    RdKafka::TopicPartition::destroy(partitions);
    consumer->close();
    return offsets;
}

}  // namespace indexer::testing
