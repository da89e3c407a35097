#include "rdkafka_support.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace indexer::kafka::detail {

void LogBridge::event_cb(RdKafka::Event& event) {
    switch (event.type()) {
        case RdKafka::Event::EVENT_LOG: {
            // syslog levels: 0 emergency ... 7 debug
            const int severity = event.severity();
            auto level = severity <= 3   ? spdlog::level::err
                         : severity == 4 ? spdlog::level::warn
                         : severity <= 6 ? spdlog::level::info
                                         : spdlog::level::debug;
            // The kafka properties of the configuration go to consumers and
            // producers alike; each ignores the other's, which is expected.
            if (event.fac() == "CONFWARN" &&
                event.str().find("will be ignored by this") != std::string::npos) {
                level = spdlog::level::debug;
            }
            spdlog::log(level, "kafka {}: {}: {}", who_, event.fac(), event.str());
            break;
        }
        case RdKafka::Event::EVENT_ERROR:
            // Transient errors (broker down, all brokers down) are retried by
            // librdkafka itself; fatal ones also surface as operation errors.
            spdlog::log(event.fatal() ? spdlog::level::err : spdlog::level::warn, "kafka {}: {}{}", who_,
                        event.fatal() ? "fatal: " : "",
                        event.str().empty() ? RdKafka::err2str(event.err()) : event.str());
            break;
        default:
            break;
    }
}

Result<std::unique_ptr<RdKafka::Conf>> make_conf(const Properties& properties, LogBridge* log_bridge) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    for (const auto& [name, value] : properties) {
        if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) {
            return Status::error(fmt::format("kafka property \"{}\": {}", name, error));
        }
    }
    if (log_bridge != nullptr &&
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(log_bridge), error) != RdKafka::Conf::CONF_OK) {
        return Status::error("kafka: cannot install the log callback: " + error);
    }
    return conf;
}

PartitionList::PartitionList(const std::vector<TopicPartition>& partitions) {
    list_.reserve(partitions.size());
    for (const auto& partition : partitions) add(partition, RdKafka::Topic::OFFSET_INVALID);
}

void PartitionList::add(const TopicPartition& partition, std::int64_t offset) {
    list_.push_back(RdKafka::TopicPartition::create(partition.topic, partition.partition, offset));
}

std::vector<TopicPartition> to_partitions(const std::vector<RdKafka::TopicPartition*>& partitions) {
    std::vector<TopicPartition> result;
    result.reserve(partitions.size());
    for (const auto* partition : partitions) result.push_back({partition->topic(), partition->partition()});
    return result;
}

Message to_message(RdKafka::Message& message) {
    Message result;
    result.topic = message.topic_name();
    result.partition = message.partition();
    result.offset = message.offset();
    if (message.key_pointer() != nullptr) {
        result.key.emplace(static_cast<const char*>(message.key_pointer()), message.key_len());
    }
    if (message.payload() != nullptr) {
        result.value.emplace(static_cast<const char*>(message.payload()), message.len());
    }
    // headers() is owned by the message; librdkafka parses them lazily.
    if (RdKafka::Headers* headers = message.headers(); headers != nullptr) {
        for (const auto& header : headers->get_all()) {
            Header copy{header.key(), std::nullopt};
            if (header.value() != nullptr) {
                copy.value.emplace(static_cast<const char*>(header.value()), header.value_size());
            }
            result.headers.push_back(std::move(copy));
        }
    }
    const RdKafka::MessageTimestamp timestamp = message.timestamp();
    if (timestamp.type != RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) {
        result.timestamp = time_from_timestamp(timestamp.timestamp);
    }
    return result;
}

std::string describe(RdKafka::ErrorCode code) {
    return RdKafka::err2str(code) + " (" + std::to_string(static_cast<int>(code)) + ")";
}

}  // namespace indexer::kafka::detail
