// Proves Elasticsearch, OpenSearch 2 and OpenSearch 3 from C++: _bulk, then
// _search finds it.
#include "support/http.hpp"
#include "support/test_services.hpp"

#include <nlohmann/json.hpp>

namespace {

using indexer::testing::http;

class SearchSmoke : public ::testing::TestWithParam<const char*> {};

TEST_P(SearchSmoke, BulkIndexedDocumentsAreFoundBySearch) {
    INDEXER_REQUIRE_SERVICE(base, GetParam());
    const std::string index = indexer::testing::unique_name("smoke");
    const std::string bulk =
        "{\"index\":{\"_index\":\"" + index + "\",\"_id\":\"1\"}}\n{\"name\":\"red shoe\",\"price\":10}\n" +
        "{\"index\":{\"_index\":\"" + index + "\",\"_id\":\"2\"}}\n{\"name\":\"blue hat\",\"price\":20}\n";
    const auto written = http("POST", base + "/_bulk?refresh=true", bulk, "application/x-ndjson");
    ASSERT_EQ(written.status, 200) << written.body;
    const auto bulk_response = nlohmann::json::parse(written.body);
    EXPECT_FALSE(bulk_response.at("errors").get<bool>()) << written.body;
    ASSERT_EQ(bulk_response.at("items").size(), 2U);

    const auto found =
        http("POST", base + "/" + index + "/_search", R"({"query":{"match":{"name":"shoe"}}})");
    ASSERT_EQ(found.status, 200) << found.body;
    const auto hits = nlohmann::json::parse(found.body).at("hits").at("hits");
    ASSERT_EQ(hits.size(), 1U) << found.body;
    EXPECT_EQ(hits[0].at("_id"), "1");
    EXPECT_EQ(hits[0].at("_source").at("price"), 10);

    EXPECT_EQ(http("DELETE", base + "/" + index).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Servers, SearchSmoke,
                         ::testing::Values("INDEXER_TEST_ELASTICSEARCH", "INDEXER_TEST_OPENSEARCH",
                                           "INDEXER_TEST_OPENSEARCH3"),
                         [](const auto& param_info) {
                             const std::string name = param_info.param;
                             if (name == "INDEXER_TEST_ELASTICSEARCH") return std::string("Elasticsearch");
                             if (name == "INDEXER_TEST_OPENSEARCH") return std::string("OpenSearch");
                             return std::string("OpenSearch3");
                         });

}  // namespace
