#include "support/search_index.hpp"

#include "support/http.hpp"

#include <stdexcept>

namespace indexer::testing {

void SearchIndex::refresh() const {
    (void)http("POST", base_ + "/" + index_ + "/_refresh");
}

long SearchIndex::count() const {
    refresh();
    HttpResponse response = http("GET", base_ + "/" + index_ + "/_count");
    if (response.status == 503) {
        // An index the sink created a moment ago has no started primary yet
        // ("all shards failed"): wait for it, then count.
        (void)http("GET", base_ + "/_cluster/health/" + index_ + "?wait_for_status=yellow&timeout=30s");
        refresh();
        response = http("GET", base_ + "/" + index_ + "/_count");
    }
    if (response.status == 404) return 0;
    if (response.status != 200) throw std::runtime_error("_count: " + response.body);
    return nlohmann::json::parse(response.body).at("count").get<long>();
}

std::map<std::string, nlohmann::json> SearchIndex::get(const std::vector<std::string>& ids) const {
    std::map<std::string, nlohmann::json> found;
    constexpr std::size_t kChunk = 1000;
    for (std::size_t start = 0; start < ids.size(); start += kChunk) {
        nlohmann::json request{{"ids", nlohmann::json::array()}};
        for (std::size_t i = start; i < ids.size() && i < start + kChunk; ++i)
            request["ids"].push_back(ids[i]);
        const HttpResponse response = http("POST", base_ + "/" + index_ + "/_mget", request.dump());
        if (response.status == 404) return found;
        if (response.status != 200) throw std::runtime_error("_mget: " + response.body);
        const nlohmann::json parsed = nlohmann::json::parse(response.body);
        for (const auto& doc : parsed.at("docs")) {
            if (doc.value("found", false)) found[doc.at("_id").get<std::string>()] = doc.at("_source");
        }
    }
    return found;
}

void SearchIndex::remove() const {
    (void)http("DELETE", base_ + "/" + index_);
}

}  // namespace indexer::testing
