#include <indexer/kafka/client_properties.hpp>
#include <indexer/kafka/topic_reader.hpp>

#include "rdkafka_support.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>

namespace indexer::kafka {
namespace {

// Owns a C partition list: the C API carries offset metadata, which the C++
// API of librdkafka 2.0 does not expose.
struct CPartitionList {
    explicit CPartitionList(int size) : list(rd_kafka_topic_partition_list_new(size)) {}
    ~CPartitionList() { rd_kafka_topic_partition_list_destroy(list); }
    CPartitionList(const CPartitionList&) = delete;
    CPartitionList& operator=(const CPartitionList&) = delete;
    rd_kafka_topic_partition_list_t* list;
};

}  // namespace

class TopicReader::Impl {
public:
    std::string group_id;
    detail::LogBridge log_bridge;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer;

    explicit Impl(std::string group) : group_id(std::move(group)), log_bridge("reader " + group_id) {}
    std::string who() const { return "kafka reader (group " + group_id + ")"; }
};

TopicReader::TopicReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TopicReader::~TopicReader() {
    // Never subscribed: close() only ends the assignment, no group to leave.
    if (impl_ && impl_->consumer) impl_->consumer->close();
}

Result<std::unique_ptr<TopicReader>> TopicReader::create(const ClientOptions& options, std::string group_id) {
    auto properties = consumer_properties(options, group_id);
    if (!properties) return properties.status();
    // End of partition events tell when a partition has been read to its end.
    properties.value()["enable.partition.eof"] = "true";
    auto impl = std::make_unique<Impl>(std::move(group_id));
    auto conf = detail::make_conf(properties.value(), &impl->log_bridge);
    if (!conf) return conf.status();
    std::string error;
    impl->consumer.reset(RdKafka::KafkaConsumer::create(conf.value().get(), error));
    if (!impl->consumer) return Status::error(impl->who() + ": " + error);
    return std::unique_ptr<TopicReader>(new TopicReader(std::move(impl)));
}

Status TopicReader::read(const std::string& topic, const std::vector<PartitionOffsets>& partitions,
                         const std::function<Status(Message&&)>& each,
                         std::chrono::milliseconds idle_timeout) {
    Impl& impl = *impl_;
    std::map<std::int32_t, std::int64_t> end_of;  // partitions still to read, by their end offset
    detail::PartitionList assignment;
    for (const PartitionOffsets& offsets : partitions) {
        if (offsets.low >= offsets.high) continue;
        end_of[offsets.partition] = offsets.high;
        assignment.add({topic, offsets.partition}, offsets.low);
    }
    if (end_of.empty()) return Status::ok();
    if (const auto code = impl.consumer->assign(assignment.get()); code != RdKafka::ERR_NO_ERROR) {
        return Status::error(impl.who() + ": cannot assign " + topic + ": " + detail::describe(code));
    }
    Status status;
    auto last_progress = std::chrono::steady_clock::now();
    while (!end_of.empty()) {
        std::unique_ptr<RdKafka::Message> message(impl.consumer->consume(200));
        const auto partition = end_of.find(message->partition());
        switch (message->err()) {
            case RdKafka::ERR_NO_ERROR: {
                last_progress = std::chrono::steady_clock::now();
                if (partition == end_of.end() || message->offset() >= partition->second) break;
                status = each(detail::to_message(*message));
                if (message->offset() + 1 >= partition->second) end_of.erase(partition);
                break;
            }
            case RdKafka::ERR__PARTITION_EOF:
                // At the end: what the high offset counted is read (the offsets
                // in between were compacted away or were control records).
                if (partition != end_of.end() && message->offset() >= partition->second)
                    end_of.erase(partition);
                break;
            case RdKafka::ERR__TIMED_OUT:
                break;
            case RdKafka::ERR__FATAL:
            case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
            case RdKafka::ERR_GROUP_AUTHORIZATION_FAILED:
            case RdKafka::ERR__UNKNOWN_TOPIC:
            case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
                status = Status::error(impl.who() + ": reading " + topic + ": " + message->errstr());
                break;
            default:
                // Transient (a broker restarting): librdkafka retries; the idle timeout bounds the wait.
                break;
        }
        if (!status) break;
        if (std::chrono::steady_clock::now() - last_progress > idle_timeout) {
            std::string waiting;
            for (const auto& [number, end] : end_of)
                waiting += (waiting.empty() ? "" : ", ") + to_string(TopicPartition{topic, number});
            status = Status::retryable_error(impl.who() + ": no message from " + waiting + " for " +
                                             std::to_string(idle_timeout.count()) + " ms before its end");
            break;
        }
    }
    impl.consumer->unassign();
    return status;
}

Result<std::map<std::int32_t, GroupOffset>> TopicReader::committed(
    const std::string& topic, const std::vector<std::int32_t>& partitions,
    std::chrono::milliseconds timeout) {
    CPartitionList list(static_cast<int>(partitions.size()));
    for (const std::int32_t partition : partitions)
        rd_kafka_topic_partition_list_add(list.list, topic.c_str(), partition);
    const auto code = rd_kafka_committed(impl_->consumer->c_ptr(), list.list,
                                         static_cast<int>(std::max<std::int64_t>(timeout.count(), 0)));
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::retryable_error(impl_->who() + ": no committed offsets for " + topic + ": " +
                                       rd_kafka_err2str(code));
    }
    std::map<std::int32_t, GroupOffset> result;
    for (int i = 0; i < list.list->cnt; ++i) {
        const rd_kafka_topic_partition_t& element = list.list->elems[i];
        if (element.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return Status::retryable_error(impl_->who() + ": no committed offset for " +
                                           to_string(TopicPartition{topic, element.partition}) + ": " +
                                           rd_kafka_err2str(element.err));
        }
        if (element.offset < 0) continue;
        GroupOffset offset{element.offset, {}};
        if (element.metadata != nullptr && element.metadata_size > 0)
            offset.metadata.assign(static_cast<const char*>(element.metadata), element.metadata_size);
        result.emplace(element.partition, std::move(offset));
    }
    return result;
}

Status TopicReader::commit(const std::string& topic, const std::map<std::int32_t, GroupOffset>& offsets) {
    if (offsets.empty()) return Status::ok();
    rd_kafka_t* client = impl_->consumer->c_ptr();
    CPartitionList list(static_cast<int>(offsets.size()));
    for (const auto& [partition, offset] : offsets) {
        rd_kafka_topic_partition_t* element =
            rd_kafka_topic_partition_list_add(list.list, topic.c_str(), partition);
        element->offset = offset.next_offset;
        if (!offset.metadata.empty()) {
            // Freed with the list, by librdkafka's allocator.
            element->metadata = rd_kafka_mem_malloc(client, offset.metadata.size());
            std::memcpy(element->metadata, offset.metadata.data(), offset.metadata.size());
            element->metadata_size = offset.metadata.size();
        }
    }
    const auto code = rd_kafka_commit(client, list.list, 0);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::retryable_error(impl_->who() + ": commit on " + topic +
                                       " failed: " + rd_kafka_err2str(code));
    }
    for (int i = 0; i < list.list->cnt; ++i) {
        const rd_kafka_topic_partition_t& element = list.list->elems[i];
        if (element.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return Status::retryable_error(impl_->who() + ": commit of " +
                                           to_string(TopicPartition{topic, element.partition}) +
                                           " failed: " + rd_kafka_err2str(element.err));
        }
    }
    return Status::ok();
}

}  // namespace indexer::kafka
