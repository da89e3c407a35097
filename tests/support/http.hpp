// A small blocking HTTP client for tests that inspect Elasticsearch/OpenSearch
// directly (the product's own client lives in the sink).
#pragma once

#include <string>

namespace indexer::testing {

struct HttpResponse {
    long status = 0;   // 0 when no response arrived
    std::string body;  // response body, or curl's error when status is 0
};

HttpResponse http(const std::string& method, const std::string& url, const std::string& body = {},
                  const std::string& content_type = "application/json");

}  // namespace indexer::testing
