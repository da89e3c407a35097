#include <indexer/kafka/admin.hpp>

#include "rdkafka_support.hpp"

#include <librdkafka/rdkafka.h>

#include <string_view>
#include <thread>

namespace indexer::kafka {
namespace {

int to_ms(std::chrono::milliseconds timeout) {
    return static_cast<int>(std::max<std::int64_t>(timeout.count(), 0));
}

}  // namespace

class Admin::Impl {
public:
    ClientOptions options;
    detail::LogBridge log_bridge{"admin"};
    // A producer handle never produces here: it only carries metadata, watermark
    // and admin requests.
    std::unique_ptr<RdKafka::Producer> handle;

    Result<std::unique_ptr<RdKafka::Metadata>> metadata(bool all_topics, std::chrono::milliseconds timeout) {
        RdKafka::Metadata* raw = nullptr;
        const auto code = handle->metadata(all_topics, nullptr, &raw, to_ms(timeout));
        std::unique_ptr<RdKafka::Metadata> result(raw);
        if (code != RdKafka::ERR_NO_ERROR) {
            return Status::retryable_error("kafka " + options.brokers +
                                           ": no metadata: " + detail::describe(code));
        }
        return result;
    }
};

Admin::Admin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Admin::~Admin() = default;

Result<std::unique_ptr<Admin>> Admin::create(const ClientOptions& options) {
    auto properties = producer_properties(options);
    if (!properties) return properties.status();
    // Plain client: no producer id to acquire, and never create a topic by asking about it.
    properties.value().erase("enable.idempotence");
    properties.value()["allow.auto.create.topics"] = "false";
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    auto conf = detail::make_conf(properties.value(), &impl->log_bridge);
    if (!conf) return conf.status();
    std::string error;
    impl->handle.reset(RdKafka::Producer::create(conf.value().get(), error));
    if (!impl->handle) return Status::error("kafka admin client: " + error);
    return std::unique_ptr<Admin>(new Admin(std::move(impl)));
}

Result<ClusterInfo> Admin::probe(std::chrono::milliseconds timeout) {
    auto metadata = impl_->metadata(false, timeout);
    if (!metadata) return metadata.status();
    ClusterInfo info;
    info.broker_count = static_cast<int>(metadata.value()->brokers()->size());
    info.origin_broker =
        metadata.value()->orig_broker_name() + "/" + std::to_string(metadata.value()->orig_broker_id());
    return info;
}

Result<std::optional<int>> Admin::partition_count(const std::string& topic,
                                                  std::chrono::milliseconds timeout) {
    // All topics: a request naming the topic could create it on brokers that
    // auto-create topics.
    auto metadata = impl_->metadata(true, timeout);
    if (!metadata) return metadata.status();
    for (const auto* described : *metadata.value()->topics()) {
        if (described->topic() != topic) continue;
        if (described->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) return std::optional<int>{};
        if (described->err() != RdKafka::ERR_NO_ERROR) {
            return Status::retryable_error("kafka topic " + topic + ": " +
                                           detail::describe(described->err()));
        }
        return std::optional<int>{static_cast<int>(described->partitions()->size())};
    }
    return std::optional<int>{};
}

Result<bool> Admin::producing_creates_topics(std::chrono::milliseconds timeout) {
    auto properties = producer_properties(impl_->options);
    if (!properties) return properties.status();
    if (const auto allowed = properties.value().find("allow.auto.create.topics");
        allowed != properties.value().end() && (allowed->second == "false" || allowed->second == "0")) {
        return false;
    }
    auto metadata = impl_->metadata(false, timeout);
    if (!metadata) return metadata.status();
    const std::string broker = std::to_string(metadata.value()->orig_broker_id());

    rd_kafka_t* client = impl_->handle->c_ptr();
    char error[512] = "";
    rd_kafka_ConfigResource_t* resource =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, broker.c_str());
    rd_kafka_AdminOptions_t* admin_options =
        rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(admin_options, to_ms(timeout), error, sizeof error);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(client);
    rd_kafka_DescribeConfigs(client, &resource, 1, admin_options, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, to_ms(timeout) + 1000);

    Result<bool> answer =
        Status::retryable_error("kafka broker " + broker + ": describing its configuration timed out");
    if (event != nullptr && rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        answer = Status::error("kafka broker " + broker +
                               ": cannot describe its configuration: " + rd_kafka_event_error_string(event));
    } else if (event != nullptr) {
        std::size_t count = 0;
        const rd_kafka_ConfigResource_t** described =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event), &count);
        if (count != 1 || rd_kafka_ConfigResource_error(described[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            const char* message = count == 1 ? rd_kafka_ConfigResource_error_string(described[0]) : nullptr;
            answer = Status::error("kafka broker " + broker + ": cannot describe its configuration: " +
                                   (message != nullptr ? message : "no answer"));
        } else {
            std::size_t entries = 0;
            const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(described[0], &entries);
            answer = Status::error("kafka broker " + broker + " does not show auto.create.topics.enable");
            for (std::size_t i = 0; i < entries; ++i) {
                if (std::string_view{rd_kafka_ConfigEntry_name(configs[i])} != "auto.create.topics.enable")
                    continue;
                const char* value = rd_kafka_ConfigEntry_value(configs[i]);
                answer = value != nullptr && std::string_view{value} == "true";
            }
        }
    }
    if (event != nullptr) rd_kafka_event_destroy(event);
    rd_kafka_queue_destroy(queue);
    rd_kafka_AdminOptions_destroy(admin_options);
    rd_kafka_ConfigResource_destroy(resource);
    return answer;
}

Status Admin::create_topic(const std::string& topic, int partitions, std::chrono::milliseconds timeout) {
    rd_kafka_t* client = impl_->handle->c_ptr();
    char error[512] = "";
    // Replication factor -1: the broker's default.
    rd_kafka_NewTopic_t* new_topic =
        rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, error, sizeof error);
    if (new_topic == nullptr) return Status::error("kafka: cannot create topic " + topic + ": " + error);
    rd_kafka_AdminOptions_t* admin_options =
        rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(admin_options, to_ms(timeout), error, sizeof error);
    rd_kafka_AdminOptions_set_request_timeout(admin_options, to_ms(timeout), error, sizeof error);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(client);
    rd_kafka_CreateTopics(client, &new_topic, 1, admin_options, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, to_ms(timeout) + 1000);

    Status status;
    if (event == nullptr) {
        status = Status::retryable_error("kafka: creating topic " + topic + " timed out");
    } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        status =
            Status::error("kafka: cannot create topic " + topic + ": " + rd_kafka_event_error_string(event));
    } else {
        std::size_t count = 0;
        const rd_kafka_topic_result_t** results =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
        if (count == 1 && rd_kafka_topic_result_error(results[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            const char* message = rd_kafka_topic_result_error_string(results[0]);
            status = Status::error(
                "kafka: cannot create topic " + topic + ": " +
                (message != nullptr ? message : rd_kafka_err2str(rd_kafka_topic_result_error(results[0]))));
        }
    }
    if (event != nullptr) rd_kafka_event_destroy(event);
    rd_kafka_queue_destroy(queue);
    rd_kafka_AdminOptions_destroy(admin_options);
    rd_kafka_NewTopic_destroy(new_topic);
    if (!status) return status;

    // The controller answered; wait until every partition has a leader that
    // answers (right after creation, brokers say "not leader" for a moment).
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto ready = [&] {
        auto count = partition_count(topic, timeout);
        if (!count || count.value() != partitions) return false;
        for (int partition = 0; partition < partitions; ++partition) {
            std::int64_t low = 0;
            std::int64_t high = 0;
            if (impl_->handle->query_watermark_offsets(topic, partition, &low, &high, to_ms(timeout)) !=
                RdKafka::ERR_NO_ERROR) {
                return false;
            }
        }
        return true;
    };
    for (;;) {
        if (ready()) return Status::ok();
        if (std::chrono::steady_clock::now() >= deadline) {
            return Status::retryable_error("kafka: topic " + topic +
                                           " created but not visible in the metadata");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

Result<std::vector<PartitionOffsets>> Admin::offsets(const std::string& topic,
                                                     const std::optional<std::string>& group,
                                                     std::chrono::milliseconds timeout) {
    auto count = partition_count(topic, timeout);
    if (!count) return count.status();
    if (!count.value()) return Status::error("kafka topic " + topic + " does not exist");
    std::vector<PartitionOffsets> result;
    for (int partition = 0; partition < *count.value(); ++partition) {
        PartitionOffsets offsets;
        offsets.partition = partition;
        const auto code = impl_->handle->query_watermark_offsets(topic, partition, &offsets.low,
                                                                 &offsets.high, to_ms(timeout));
        if (code != RdKafka::ERR_NO_ERROR) {
            return Status::retryable_error("kafka topic " + topic + "[" + std::to_string(partition) +
                                           "]: no watermarks: " + detail::describe(code));
        }
        result.push_back(offsets);
    }
    if (!group) return result;

    // A group member that never subscribes: it only asks the group coordinator.
    auto properties = consumer_properties(impl_->options, *group);
    if (!properties) return properties.status();
    auto conf = detail::make_conf(properties.value(), &impl_->log_bridge);
    if (!conf) return conf.status();
    std::string error;
    std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf.value().get(), error));
    if (!reader) return Status::error("kafka group " + *group + ": " + error);
    detail::PartitionList list;
    for (const auto& offsets : result) list.add({topic, offsets.partition}, RdKafka::Topic::OFFSET_INVALID);
    const auto code = reader->committed(list.get(), to_ms(timeout));
    reader->close();
    if (code != RdKafka::ERR_NO_ERROR) {
        return Status::retryable_error("kafka group " + *group +
                                       ": no committed offsets: " + detail::describe(code));
    }
    for (std::size_t i = 0; i < result.size(); ++i) {
        const std::int64_t committed = list.get()[i]->offset();
        if (committed >= 0) result[i].committed = committed;
    }
    return result;
}

}  // namespace indexer::kafka
