#include <indexer/kafka/client_properties.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

namespace indexer::kafka {
namespace {

std::string lower(std::string_view text) {
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return result;
}

// librdkafka's boolean spellings.
std::optional<bool> as_bool(std::string_view text) {
    const std::string value = lower(text);
    if (value == "true" || value == "1" || value == "t") return true;
    if (value == "false" || value == "0" || value == "f") return false;
    return std::nullopt;
}

// Applies a property that the indexer needs with exactly this boolean value:
// the user may repeat it, not contradict it.
Status force_bool(Properties& properties, const std::string& name, bool required, std::string_view why) {
    if (const auto found = properties.find(name); found != properties.end()) {
        const auto value = as_bool(found->second);
        if (!value || *value != required) {
            return Status::error("kafka property \"" + name + "\" cannot be set to \"" + found->second +
                                 "\": " + std::string(why));
        }
    }
    properties[name] = required ? "true" : "false";
    return Status::ok();
}

Status force_text(Properties& properties, const std::string& name, const std::string& required,
                  std::string_view why) {
    if (const auto found = properties.find(name); found != properties.end() && found->second != required) {
        return Status::error("kafka property \"" + name + "\" cannot be set to \"" + found->second +
                             "\": " + std::string(why));
    }
    properties[name] = required;
    return Status::ok();
}

Result<Properties> common_properties(const ClientOptions& options) {
    Properties properties = options.properties;
    // metadata.broker.list is librdkafka's older name of bootstrap.servers.
    for (const char* alias : {"bootstrap.servers", "metadata.broker.list"}) {
        const auto found = properties.find(alias);
        if (found == properties.end()) continue;
        if (!options.brokers.empty() && found->second != options.brokers) {
            return Status::error(std::string("kafka property \"") + alias + "\" (\"" + found->second +
                                 "\") contradicts kafka.brokers (\"" + options.brokers + "\")");
        }
        if (options.brokers.empty()) properties["bootstrap.servers"] = found->second;
        properties.erase(found);
    }
    if (!options.brokers.empty()) properties["bootstrap.servers"] = options.brokers;
    if (properties.find("bootstrap.servers") == properties.end() || properties["bootstrap.servers"].empty()) {
        return Status::error("kafka brokers are not set");
    }
    if (!options.client_id.empty()) {
        INDEXER_RETURN_IF_ERROR(
            force_text(properties, "client.id", options.client_id, "it is kafka.client_id"));
    }
    return properties;
}

}  // namespace

Result<Properties> consumer_properties(const ClientOptions& options, const std::string& group_id) {
    if (group_id.empty()) return Status::error("a consumer needs a group id");
    auto properties = common_properties(options);
    if (!properties) return properties.status();
    Properties& result = properties.value();
    INDEXER_RETURN_IF_ERROR(
        force_text(result, "group.id", group_id, "the consumer group is the pipeline's (or delayer's) name"));
    INDEXER_RETURN_IF_ERROR(force_bool(result, "enable.auto.commit", false,
                                       "the indexer commits offsets after the work is done"));
    INDEXER_RETURN_IF_ERROR(force_bool(result, "enable.auto.offset.store", false,
                                       "the indexer commits offsets after the work is done"));
    result.try_emplace("auto.offset.reset", "earliest");
    // Eager rebalancing (librdkafka's default assignors, range and roundrobin):
    // Debian's librdkafka 2.0.2 can hang or abort when a cooperative-sticky
    // consumer closes during a rebalance (upstream issues #4527, #4312).
    result.try_emplace("partition.assignment.strategy", "range,roundrobin");
    return properties;
}

Result<Properties> producer_properties(const ClientOptions& options) {
    auto properties = common_properties(options);
    if (!properties) return properties.status();
    Properties& result = properties.value();
    INDEXER_RETURN_IF_ERROR(force_bool(result, "enable.idempotence", true,
                                       "the indexer needs each message written once and in order"));
    for (const char* alias : {"acks", "request.required.acks"}) {
        const auto found = result.find(alias);
        if (found == result.end()) continue;
        if (found->second != "all" && found->second != "-1") {
            return Status::error(std::string("kafka property \"") + alias + "\" cannot be set to \"" +
                                 found->second +
                                 "\": the indexer needs every in-sync replica to acknowledge");
        }
        result.erase(found);
    }
    result["acks"] = "all";
    return properties;
}

}  // namespace indexer::kafka
