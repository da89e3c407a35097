// When the index, not the document, is at fault, `indexer run` pauses instead
// of dead-lettering the stream, says so on /readyz and /metrics, and every
// document converges once the operator lifts the condition; one bad document
// in a batch of one is still dead-lettered and the pipeline goes on. Against
// Elasticsearch and OpenSearch.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/http.hpp"
#include "support/kafka_client.hpp"
#include "support/search_index.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

using Server = ::indexer::testing::SearchServer;

// The value of an unlabelled-but-for-pipeline sample of /metrics, or -1.
double metric(const std::string& base, const std::string& sample) {
    const HttpResponse response = http("GET", base + "/metrics");
    std::istringstream lines(response.body);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
    }
    return -1;
}

class IndexConditions : public ::testing::TestWithParam<Server> {
protected:
    void SetUp() override {
        INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
        INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
        INDEXER_REQUIRE_SERVICE(search, GetParam().env);
        brokers_ = brokers;
        postgres_ = postgres;
        search_ = search;
        name_ = unique_name("cond");
        listen_ = free_listen_address();
        base_ = "http://" + listen_;
    }
    void TearDown() override {
        if (name_.empty()) return;
        Database(postgres_).execute("DROP TABLE IF EXISTS " + name_);
        SearchIndex(search_, name_).remove();
    }

    std::string config(int max_messages) const {
        return fmt::format(R"(
kafka:
  brokers: {brokers}
http:
  listen: "{listen}"
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{search}"], index: {name}}}}}
    batch: {{max_messages: {max_messages}, max_wait: 200ms}}
    retry: {{initial: 100ms, max: 1s}}
)",
                           fmt::arg("brokers", brokers_), fmt::arg("listen", listen_),
                           fmt::arg("postgres", postgres_), fmt::arg("name", name_),
                           fmt::arg("search", search_), fmt::arg("max_messages", max_messages));
    }

    void publish(int from, int to) const {
        TestProducer producer(brokers_);
        for (int id = from; id <= to; ++id)
            producer.send(name_, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
        producer.flush();
    }

    // Waits until /readyz reports the pipeline's writes paused; returns its body.
    std::string wait_until_paused(const std::string& words) const {
        HttpResponse ready;
        const bool paused = eventually(
            [&] {
                ready = http("GET", base_ + "/readyz");
                return ready.status == 503 && ready.body.find(": writes") != std::string::npos &&
                       ready.body.find(words) != std::string::npos;
            },
            seconds(60));
        EXPECT_TRUE(paused) << ready.status << " " << ready.body;
        return ready.body;
    }

    void admin(const std::string& method, const std::string& path, const std::string& body = {}) const {
        const HttpResponse response = http(method, search_ + path, body);
        ASSERT_EQ(response.status, 200) << method << " " << path << ": " << response.body;
    }

    std::string brokers_, postgres_, search_, name_, listen_, base_;
};

// A schema change: the table gained a column that the index's strict mapping
// does not know, so the index refuses every document for the same reason.
TEST_P(IndexConditions, AMappingConflictOnEveryDocumentPausesUntilTheMappingIsFixedThenConverges) {
    const Database database(postgres_);
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL, colour text);"
                    "INSERT INTO {0} SELECT g, 'product ' || g, 'red' FROM generate_series(1, 30) g",
                    name_));
    create_index(search_, name_,
                 {{"settings", {{"number_of_shards", 1}, {"number_of_replicas", 0}}},
                  {"mappings",
                   {{"dynamic", "strict"},
                    {"properties", {{"id", {{"type", "long"}}}, {"name", {{"type", "text"}}}}}}}});
    create_topic(brokers_, name_, 1);
    create_topic(brokers_, name_ + "-dead-letter", 1);
    publish(1, 30);  // one batch of 30 > pause_after_same_rejects (20)
    IndexerProcess indexer(name_, config(1000));

    const std::string ready = wait_until_paused("30 documents rejected for the same reason");
    EXPECT_NE(ready.find("strict_dynamic_mapping_exception"), std::string::npos) << ready;
    EXPECT_EQ(metric(base_, "indexer_pipeline_held_rejects{pipeline=\"" + name_ + "\"}"), 30);
    EXPECT_EQ(metric(base_, "indexer_pipeline_paused{pipeline=\"" + name_ + "\",reason=\"sink\"}"), 1);
    EXPECT_NE(indexer.output().find("paused: 30 documents rejected for the same reason"), std::string::npos)
        << indexer.output();
    EXPECT_EQ(committed_total(brokers_, name_, name_), 0);

    // SIGTERM during the pause: the held batch is given up uncommitted once the
    // grace is over, and a restart holds it again instead of dead-lettering it.
    const auto stopping = std::chrono::steady_clock::now();
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
    EXPECT_LT(std::chrono::steady_clock::now() - stopping, seconds(45));
    EXPECT_EQ(committed_total(brokers_, name_, name_), 0);
    indexer.restart();
    wait_until_paused("30 documents rejected for the same reason");

    // The operator adds the new field to the mapping: the held documents go through.
    admin("PUT", "/" + name_ + "/_mapping", R"({"properties": {"colour": {"type": "keyword"}}})");
    const auto found = wait_until_index_matches(database, name_, SearchIndex(search_, name_), seconds(60));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers_, name_, name_, 30, seconds(60)), 30);
    EXPECT_TRUE(eventually([&] { return http("GET", base_ + "/readyz").status == 200; }, seconds(30)));
    EXPECT_EQ(metric(base_, "indexer_pipeline_held_rejects{pipeline=\"" + name_ + "\"}"), 0);
    EXPECT_TRUE(read_topic(brokers_, name_ + "-dead-letter", 1, seconds(3)).empty());
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

// index.blocks.write (what an operator or the disk watermark sets): the whole
// cluster answers, yet every write is refused.
TEST_P(IndexConditions, AWriteBlockedIndexPausesThePipelineUntilTheBlockIsLiftedThenConverges) {
    const Database database(postgres_);
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'product ' || g FROM generate_series(1, 10) g",
                    name_));
    create_topic(brokers_, name_, 1);
    create_topic(brokers_, name_ + "-dead-letter", 1);
    IndexerProcess indexer(name_, config(1000));
    const SearchIndex index(search_, name_);
    publish(1, 10);
    auto found = wait_until_index_matches(database, name_, index, seconds(60));
    ASSERT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();

    admin("PUT", "/" + name_ + "/_settings", R"({"index.blocks.write": true})");
    database.execute(
        fmt::format("UPDATE {0} SET name = 'renamed ' || id; INSERT INTO {0} VALUES (11, 'new')", name_));
    publish(1, 11);
    wait_until_paused("cluster_block_exception");
    EXPECT_EQ(metric(base_, "indexer_pipeline_paused{pipeline=\"" + name_ + "\",reason=\"sink\"}"), 1);

    admin("PUT", "/" + name_ + "/_settings", R"({"index.blocks.write": null})");
    found = wait_until_index_matches(database, name_, index, seconds(60));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers_, name_, name_, 21, seconds(60)), 21);
    EXPECT_TRUE(eventually([&] { return http("GET", base_ + "/readyz").status == 200; }, seconds(30)));
    EXPECT_TRUE(read_topic(brokers_, name_ + "-dead-letter", 1, seconds(3)).empty());
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

// Batches of one: a bad document is dead-lettered, the next ones are written.
TEST_P(IndexConditions, OneBadDocumentInABatchOfOneIsDeadLetteredAndThePipelineGoesOn) {
    const Database database(postgres_);
    database.execute(fmt::format(
        "CREATE TABLE {0} (id bigint PRIMARY KEY, n text NOT NULL);"
        "INSERT INTO {0} SELECT g, CASE WHEN g = 4 THEN 'four' ELSE g::text END FROM generate_series(1, 8) g",
        name_));
    create_index(search_, name_,
                 {{"settings", {{"number_of_shards", 1}, {"number_of_replicas", 0}}},
                  {"mappings", {{"properties", {{"n", {{"type", "integer"}}}}}}}});
    create_topic(brokers_, name_, 1);
    create_topic(brokers_, name_ + "-dead-letter", 1);
    publish(1, 8);
    IndexerProcess indexer(name_, config(1));

    auto expected = database.rows(name_);
    expected.erase("4");
    const auto found = wait_until_index_holds(SearchIndex(search_, name_), expected, seconds(60));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers_, name_, name_, 8, seconds(60)), 8);
    const auto letters = read_topic(brokers_, name_ + "-dead-letter", 1, seconds(30));
    ASSERT_EQ(letters.size(), 1U);
    EXPECT_EQ(letters[0].key, "4");
    EXPECT_EQ(http("GET", base_ + "/readyz").status, 200);
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

INSTANTIATE_TEST_SUITE_P(Servers, IndexConditions, ::testing::ValuesIn(::indexer::testing::search_servers()),
                         ::indexer::testing::search_server_name);

}  // namespace
}  // namespace indexer::testing
