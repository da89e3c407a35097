// Reads a whole topic as it is at one moment, for tools rather than
// pipelines: every partition is assigned (no group membership, no rebalance)
// from its first retained offset up to the end offsets seen when reading
// starts; messages produced meanwhile are left for the next read. Offsets,
// with their metadata, can be read and committed under a consumer group that
// never has members, where a tool keeps its position
// (`indexer dead-letters --replay`).
//
// Threading: one thread uses a TopicReader.
#pragma once

#include <indexer/kafka/admin.hpp>
#include <indexer/kafka/message.hpp>
#include <indexer/util/status.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace indexer::kafka {

// A group's committed position in one partition.
struct GroupOffset {
    std::int64_t next_offset = 0;  // the offset of the next message to read
    std::string metadata;          // the commit's metadata (empty when none)
};

class TopicReader {
public:
    // `group_id` is where commit() writes and committed() reads; the reader
    // never joins it.
    static Result<std::unique_ptr<TopicReader>> create(const ClientOptions& options, std::string group_id);
    ~TopicReader();
    TopicReader(const TopicReader&) = delete;
    TopicReader& operator=(const TopicReader&) = delete;

    // Calls `each` for every message of `partitions` from its low to its high
    // offset, in offset order per partition, partitions interleaved. Stops at
    // the first error `each` returns, or when no message arrived for
    // `idle_timeout` although some are still expected.
    Status read(const std::string& topic, const std::vector<PartitionOffsets>& partitions,
                const std::function<Status(Message&&)>& each, std::chrono::milliseconds idle_timeout);

    // The group's committed offsets of `topic` by partition; partitions without
    // a commit are left out.
    Result<std::map<std::int32_t, GroupOffset>> committed(const std::string& topic,
                                                          const std::vector<std::int32_t>& partitions,
                                                          std::chrono::milliseconds timeout);

    // Commits synchronously; refused while the group has members.
    Status commit(const std::string& topic, const std::map<std::int32_t, GroupOffset>& offsets);

    class Impl;

private:
    explicit TopicReader(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::kafka
