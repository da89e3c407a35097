// Versioned writes (`source.version`) against the real servers: a member that
// stalls with a bulk request in flight loses its partitions, another member
// writes newer rows, and the stale request that arrives afterwards changes
// nothing; without versions the same stale request overwrites newer documents.
// A stale upsert after a delete is refused while the server remembers the
// delete (index.gc_deletes) and brings the document back once it forgot it.
// Deletes and re-inserts of the same ids in quick succession, announced on
// every partition, end with the index equal to the table.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/http.hpp"
#include "support/kafka_client.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <regex>

namespace indexer::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Case {
    const char* name;
    const char* env;  // where the server is
    bool versioned;
};

std::string pipeline_config(const std::string& brokers, const std::string& postgres, const std::string& name,
                            const std::string& search_url, bool versioned, const std::string& listen) {
    return fmt::format(R"(
http: {{listen: "{listen}"}}
kafka:
  brokers: {brokers}
  properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "500"}}
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}{version}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{search}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 100ms}}
    retry: {{initial: 100ms, max: 1s}}
)",
                       fmt::arg("listen", listen), fmt::arg("brokers", brokers),
                       fmt::arg("postgres", postgres), fmt::arg("name", name), fmt::arg("search", search_url),
                       fmt::arg("version", versioned ? ", version: updated_at" : ""));
}

// The value of `metric` for the pipeline in the Prometheus text at /metrics.
double metric(const std::string& listen, const std::string& metric, const std::string& pipeline) {
    const HttpResponse response = http("GET", "http://" + listen + "/metrics");
    if (response.status != 200) return -1;
    const std::regex line("^" + metric + "\\{[^}]*pipeline=\"" + pipeline + "\"[^}]*\\} ([0-9.e+]+)$",
                          std::regex::multiline);
    std::smatch match;
    return std::regex_search(response.body, match, line) ? std::strtod(match[1].str().c_str(), nullptr) : -1;
}

// The rows' updated_at in microseconds since 1970, by id.
std::map<std::string, long> row_versions(const Database& database, const std::string& table) {
    std::map<std::string, long> versions;
    const std::string text = database.scalar(fmt::format(
        "SELECT string_agg(id || '=' || floor(extract(epoch FROM updated_at) * 1000000)::int8, ',') "
        "FROM {}",
        table));
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = std::min(text.find(',', start), text.size());
        const std::string pair = text.substr(start, end - start);
        const std::size_t equals = pair.find('=');
        versions[pair.substr(0, equals)] = std::stol(pair.substr(equals + 1));
        start = end + 1;
    }
    return versions;
}

// A member stalls with a bulk request of the old rows held in the network; the
// rows change (`change`, {0} is the table) and a second member, given the
// partitions once the first one's session timed out, writes them; after
// `hold` more the held request reaches the server. `after` is what then
// differs between the table and the index.
struct StaleRequest {
    std::string search;
    bool versioned = true;
    std::string change;
    nlohmann::json index_body = nlohmann::json::object();
    std::chrono::milliseconds hold{0};
};

constexpr int kRows = 50;

void run_stale_request(const StaleRequest& stale, std::vector<std::string>& after) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    const std::string name = unique_name("zombie");
    const Database database(postgres);
    const SearchIndex index(stale.search, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    database.execute(fmt::format(
        "CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL);"
        "INSERT INTO {0} SELECT g, 'old ' || g, clock_timestamp() FROM generate_series(1, {1}) g",
        name, kRows));
    create_topic(brokers, name, 2);
    create_index(stale.search, name, stale.index_body);

    // The first member reaches the server through a proxy that will hold its request.
    auto proxy = TcpProxy::for_url(stale.search);
    proxy->start();
    const std::string first_listen = free_listen_address();
    IndexerProcess first(name + "-first", pipeline_config(brokers, postgres, name, proxy->url(),
                                                          stale.versioned, first_listen));
    ASSERT_TRUE(eventually(
        [&] { return metric(first_listen, "indexer_pipeline_assigned_partitions", name) == 2; }, seconds(60)))
        << first.output();

    // It loads the old rows and sends them; the proxy holds the request, and
    // the member stalls (a long pause, a frozen VM) before the answer comes.
    proxy->pause(true);
    TestProducer producer(brokers);
    for (int id = 1; id <= kRows; ++id)
        producer.send(name, std::to_string(id), fmt::format(R"({{"id":{}}})", id));
    producer.flush();
    ASSERT_TRUE(
        eventually([&] { return metric(first_listen, "indexer_pipeline_rows_loaded_total", name) >= kRows; },
                   seconds(60)))
        << first.output();
    std::this_thread::sleep_for(milliseconds(500));  // the bulk request is written to the socket by now
    first.process().signal(SIGSTOP);

    database.execute(fmt::format(fmt::runtime(stale.change), name));
    const std::string second_listen = free_listen_address();
    IndexerProcess second(name + "-second", pipeline_config(brokers, postgres, name, stale.search,
                                                            stale.versioned, second_listen));
    // Its writes are done when it has written every row (an index that is
    // empty on both sides matches before it even joined the group).
    ASSERT_TRUE(eventually(
        [&] {
            return metric(second_listen, "indexer_pipeline_upserts_total", name) +
                       metric(second_listen, "indexer_pipeline_deletes_total", name) >=
                   kRows;
        },
        seconds(90)))
        << second.output();
    const auto caught_up = wait_until_index_matches(database, name, index, seconds(90));
    ASSERT_TRUE(caught_up.empty()) << summarize(caught_up) << second.output();
    // Refreshes are when the server forgets deletes older than index.gc_deletes.
    for (auto held = milliseconds(0); held < stale.hold; held += seconds(1)) {
        std::this_thread::sleep_for(seconds(1));
        index.refresh();
    }

    // Now the held request reaches the server.
    proxy->reset_counters();
    proxy->pause(false);
    ASSERT_TRUE(eventually([&] { return proxy->bytes_to_upstream() > 0; }, seconds(10)));
    std::this_thread::sleep_for(seconds(2));  // the server applies (or refuses) the stale bulk
    index.refresh();
    std::vector<std::string> ids;
    for (int id = 1; id <= kRows; ++id) ids.push_back(std::to_string(id));
    after = differences(database.rows(name), index.get(ids));
    if (stale.versioned && after.empty()) {
        const auto expected = row_versions(database, name);
        EXPECT_EQ(document_versions(stale.search, name, ids), expected);
    }
    first.kill();
    EXPECT_EQ(second.stop(), 0) << second.output();
}

class Versions : public ::testing::TestWithParam<Case> {};

TEST_P(Versions, AStaleRequestOfAMemberThatLostItsPartitionsChangesNothingOnlyWithVersions) {
    INDEXER_REQUIRE_SERVICE(search, GetParam().env);
    std::vector<std::string> after;
    run_stale_request(
        {search, GetParam().versioned, "UPDATE {0} SET name = 'new ' || id, updated_at = clock_timestamp()"},
        after);
    if (HasFatalFailure()) return;
    if (GetParam().versioned) {
        EXPECT_TRUE(after.empty()) << "the stale request overwrote newer documents:" << summarize(after);
    } else {
        // Last write wins: the stale request did arrive and undid the newer writes.
        EXPECT_FALSE(after.empty()) << "the held request never reached the server; the test proves nothing";
    }
}

class VersionedServers : public ::testing::TestWithParam<SearchServer> {};

// Elasticsearch remembers a delete's version for index.gc_deletes (60 s by
// default): a stale upsert that comes sooner is refused, one that comes later
// brings the document back. README: keep gc_deletes above the longest a
// request can be held.
TEST_P(VersionedServers, AStaleUpsertAfterADeleteIsRefusedWhileTheServerRemembersTheDelete) {
    INDEXER_REQUIRE_SERVICE(search, GetParam().env);
    std::vector<std::string> remembered;
    run_stale_request({search, true, "DELETE FROM {0}"}, remembered);
    if (HasFatalFailure()) return;
    EXPECT_TRUE(remembered.empty()) << "a stale upsert brought deleted documents back:"
                                    << summarize(remembered);

    std::vector<std::string> forgotten;
    run_stale_request(
        {search, true, "DELETE FROM {0}", {{"settings", {{"index.gc_deletes", "1s"}}}}, seconds(6)},
        forgotten);
    if (HasFatalFailure()) return;
    // Some or all: the server forgets deletes at its refreshes, not at once.
    EXPECT_FALSE(forgotten.empty()) << "with gc_deletes 1s the held upsert should bring documents back";
}

TEST_P(VersionedServers, DeletesAndReinsertsInQuickSuccessionOnEveryPartitionEndEqualToTheTable) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(search, GetParam().env);
    constexpr int kIds = 60;

    const std::string name = unique_name("reinsert");
    const Database database(postgres);
    const SearchIndex index(search, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    database.execute(
        fmt::format("CREATE TABLE {} (id bigint PRIMARY KEY, name text NOT NULL, "
                    "updated_at timestamptz NOT NULL DEFAULT clock_timestamp())",
                    name));
    create_topic(brokers, name, 4);
    create_index(search, name, {{"settings", {{"index.gc_deletes", "2s"}}}});
    IndexerProcess indexer(name,
                           pipeline_config(brokers, postgres, name, search, true, free_listen_address()));

    // Every step is announced under a different key, so that the messages of
    // one id spread over the partitions and are handled in any order.
    TestProducer producer(brokers);
    int step = 0;
    const auto announce = [&](int id) {
        producer.send(name, fmt::format("{}-{}", id, ++step), fmt::format(R"({{"id":{}}})", id));
    };
    for (int round = 0; round < 3; ++round) {
        for (int id = 1; id <= kIds; ++id) {
            database.execute(
                fmt::format("INSERT INTO {} (id, name) VALUES ({}, 'round {}')", name, id, round));
            announce(id);
            database.execute(fmt::format("DELETE FROM {} WHERE id = {}", name, id));
            announce(id);
            // Two thirds come back at once; the rest stay deleted until the next round.
            if (id % 3 != 0 || round == 2) {
                database.execute(
                    fmt::format("INSERT INTO {} (id, name) VALUES ({}, 'back {}')", name, id, round));
                announce(id);
            }
        }
        producer.flush();
        std::this_thread::sleep_for(milliseconds(300));
        if (round < 2) database.execute(fmt::format("DELETE FROM {}", name));
        for (int id = 1; id <= kIds && round < 2; ++id) announce(id);
    }
    producer.flush();

    // A re-insert stamped just before a load began but committed after its
    // snapshot loses to that load's delete until the server forgets the
    // delete (index.gc_deletes, short here) and the id is announced again:
    // the delayer's delayed copy, sent here by hand until the index matches.
    const auto before_copies = wait_until_index_matches(database, name, index, seconds(20));
    std::vector<std::string> remaining = before_copies;
    for (int copy = 0; copy < 12 && !remaining.empty(); ++copy) {
        std::this_thread::sleep_for(seconds(3));
        for (int id = 1; id <= kIds; ++id) announce(id);
        producer.flush();
        remaining = wait_until_index_matches(database, name, index, seconds(5));
    }
    RecordProperty("ids_healed_by_a_later_announcement", static_cast<int>(before_copies.size()));
    std::cout << before_copies.size() << " of " << kIds
              << " ids differed before the delayed copies: " << summarize(before_copies) << "\n";
    EXPECT_TRUE(remaining.empty()) << summarize(remaining) << indexer.output();
    std::vector<std::string> ids;
    const auto expected = row_versions(database, name);
    for (const auto& [id, version] : expected) ids.push_back(id);
    EXPECT_EQ(document_versions(search, name, ids), expected);
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

INSTANTIATE_TEST_SUITE_P(
    Servers, Versions,
    ::testing::Values(Case{"elasticsearch", "INDEXER_TEST_ELASTICSEARCH", true},
                      Case{"elasticsearch_unversioned", "INDEXER_TEST_ELASTICSEARCH", false},
                      Case{"opensearch", "INDEXER_TEST_OPENSEARCH", true},
                      Case{"opensearch3", "INDEXER_TEST_OPENSEARCH3", true}),
    [](const ::testing::TestParamInfo<Case>& case_info) { return std::string(case_info.param.name); });

INSTANTIATE_TEST_SUITE_P(Servers, VersionedServers, ::testing::ValuesIn(search_servers()),
                         search_server_name);

}  // namespace
}  // namespace indexer::testing
