// The ids of a batch, de-duplicated: each id is loaded and written once, and
// every message that named it shares the outcome (dead letter or not).
#pragma once

#include <indexer/kafka/message.hpp>

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace indexer::pipeline {

class BatchPlan {
public:
    // Records that `message` names `id`. Ids are compared as text.
    void add(const kafka::Message* message, std::string id);

    // Distinct ids in the order they were first seen: the request of the load.
    const std::vector<std::string>& ids() const noexcept { return ids_; }
    // The messages that named ids()[index], in batch order.
    const std::vector<const kafka::Message*>& messages_of(std::size_t index) const {
        return messages_.at(index);
    }

private:
    std::vector<std::string> ids_;
    std::vector<std::vector<const kafka::Message*>> messages_;
    std::unordered_map<std::string, std::size_t> index_of_;
};

}  // namespace indexer::pipeline
