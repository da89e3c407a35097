#include "support/test_services.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

namespace indexer::testing {

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string{} : std::string{value};
}

std::string unique_name(const std::string& prefix) {
    static std::atomic<unsigned> counter{0};
    static const unsigned salt = std::random_device{}() % 100000U;
    return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
           std::to_string(salt);
}

std::ostream& operator<<(std::ostream& out, const SearchServer& server) {
    return out << server.name;
}

const std::vector<SearchServer>& search_servers() {
    static const std::vector<SearchServer> servers{{"elasticsearch", "INDEXER_TEST_ELASTICSEARCH"},
                                                   {"opensearch", "INDEXER_TEST_OPENSEARCH"},
                                                   {"opensearch3", "INDEXER_TEST_OPENSEARCH3"}};
    return servers;
}

std::string search_server_name(const ::testing::TestParamInfo<SearchServer>& info) {
    return info.param.name;
}

}  // namespace indexer::testing
