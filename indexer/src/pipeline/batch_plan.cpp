#include <indexer/pipeline/batch_plan.hpp>

namespace indexer::pipeline {

void BatchPlan::add(const kafka::Message* message, std::string id) {
    const auto [position, inserted] = index_of_.try_emplace(id, ids_.size());
    if (inserted) {
        ids_.push_back(std::move(id));
        messages_.emplace_back();
    }
    messages_[position->second].push_back(message);
}

}  // namespace indexer::pipeline
