#include <indexer/kafka/message.hpp>

#include <algorithm>

namespace indexer::kafka {

std::string to_string(const TopicPartition& partition) {
    return partition.topic + "[" + std::to_string(partition.partition) + "]";
}

std::string to_string(const std::vector<TopicPartition>& partitions) {
    std::string text;
    for (const auto& partition : partitions) {
        if (!text.empty()) text += ", ";
        text += to_string(partition);
    }
    return text;
}

std::optional<std::chrono::system_clock::time_point> time_from_timestamp(std::int64_t milliseconds) {
    using std::chrono::system_clock;
    if (milliseconds < 0) return std::nullopt;
    constexpr auto max_milliseconds =
        std::chrono::duration_cast<std::chrono::milliseconds>(system_clock::duration::max()).count();
    if (milliseconds > max_milliseconds) return system_clock::time_point::max();
    return system_clock::time_point(std::chrono::milliseconds(milliseconds));
}

const Header* find_header(const Headers& headers, std::string_view key) {
    const auto found = std::find_if(headers.rbegin(), headers.rend(),
                                    [key](const Header& header) { return header.key == key; });
    return found == headers.rend() ? nullptr : &*found;
}

std::map<TopicPartition, std::int64_t> next_offsets(const std::vector<Message>& messages) {
    std::map<TopicPartition, std::int64_t> offsets;
    for (const auto& message : messages) {
        auto [it, inserted] = offsets.try_emplace(message.topic_partition(), message.offset + 1);
        if (!inserted) it->second = std::max(it->second, message.offset + 1);
    }
    return offsets;
}

}  // namespace indexer::kafka
