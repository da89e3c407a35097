// Reads an Elasticsearch/OpenSearch index the way a user would check it.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace indexer::testing {

class SearchIndex {
public:
    SearchIndex(std::string base_url, std::string index)
        : base_(std::move(base_url)), index_(std::move(index)) {}

    const std::string& name() const noexcept { return index_; }
    void refresh() const;
    // Number of documents (after a refresh); 0 when the index does not exist.
    long count() const;
    // The _source of each id that exists, fetched with _mget in chunks.
    std::map<std::string, nlohmann::json> get(const std::vector<std::string>& ids) const;
    void remove() const;

private:
    std::string base_;
    std::string index_;
};

}  // namespace indexer::testing
