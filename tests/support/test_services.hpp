// Where the real services of the test suites are. scripts/services env prints
// the variables; every suite learns the endpoints from them and nowhere else.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace indexer::testing {

// The value of the environment variable, or "" when it is unset or empty.
std::string env(const char* name);

// A unique name for this test run (topic, index, table, key prefix), so that
// suites never see each other's data: "<prefix>_<pid>_<counter>_<random>".
std::string unique_name(const std::string& prefix);

// A search server the Elasticsearch-side suites run against: its name in the
// test names and the variable that holds its URL.
struct SearchServer {
    const char* name;
    const char* env;
};
std::ostream& operator<<(std::ostream& out, const SearchServer& server);

// Elasticsearch 7, OpenSearch 2 and OpenSearch 3, for INSTANTIATE_TEST_SUITE_P
// with ::testing::ValuesIn(search_servers()), search_server_name.
const std::vector<SearchServer>& search_servers();
std::string search_server_name(const ::testing::TestParamInfo<SearchServer>& info);

}  // namespace indexer::testing

// Declares `std::string variable` holding the endpoint named by the
// environment variable `env_name`, or fails the test when it is missing: a
// missing service is a failure, never a skip.
#define INDEXER_REQUIRE_SERVICE(variable, env_name)                                              \
    const std::string variable = ::indexer::testing::env(env_name);                              \
    if (variable.empty()) {                                                                      \
        GTEST_FAIL() << env_name << " is not set: start the services with `scripts/services up`" \
                     << " and export `scripts/services env`";                                    \
    }
