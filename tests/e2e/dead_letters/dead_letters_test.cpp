// `indexer dead-letters` as an operator uses it: documents an index refuses
// (a text value for an integer field) are dead-lettered; the listing shows them
// grouped under one cause; once the mapping is fixed, --replay sends them
// through the pipeline again, every row reaches the index, and a repeated
// replay publishes nothing.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/http.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace indexer::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

struct CommandRun {
    std::optional<int> status;
    std::string output;  // stdout and stderr (the logs)
    json result;         // the --json line, null when there is none
};

// `indexer dead-letters -c <config> --pipeline <pipeline> <arguments>`, waited for.
CommandRun dead_letters(const std::filesystem::path& config, const std::string& pipeline,
                        const std::vector<std::string>& arguments) {
    static int runs = 0;
    std::vector<std::string> all{"dead-letters", "-c", config.string(), "--pipeline", pipeline};
    all.insert(all.end(), arguments.begin(), arguments.end());
    const std::filesystem::path log = config.parent_path() / fmt::format("dead-letters-{}.log", ++runs);
    ChildProcess process(indexer_binary(), all, log);
    CommandRun run;
    run.status = process.wait(120s);
    run.output = process.output();
    // The result is the one JSON line naming the pipeline's topics; log lines are JSON too.
    std::istringstream lines(run.output);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("{")) continue;
        json parsed = json::parse(line, nullptr, false);
        if (parsed.is_object() && (parsed.contains("groups") || parsed.contains("target_topic")))
            run.result = parsed;
    }
    return run;
}

void expect_ok(const HttpResponse& response, const std::string& what) {
    ASSERT_EQ(response.status, 200) << what << ": " << response.body;
}

TEST(DeadLetters, MappingConflictsAreListedAsOneCauseAndReplayedOnceTheMappingIsFixed) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("deadletters");
    const std::string first_index = name + "-v1";
    const std::string fixed_index = name + "-v2";
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);  // the alias the pipeline writes to
    const Cleanup cleanup([&] {
        SearchIndex(elasticsearch, first_index).remove();
        SearchIndex(elasticsearch, fixed_index).remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    // 50 rows; the stock of three of them is text, which an integer field refuses.
    const std::set<std::string> bad_ids{"10", "25", "40"};
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL, stock text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'item ' || g, g::text FROM generate_series(1, 50) g;"
                    "UPDATE {0} SET stock = 'lots of ' || id WHERE id IN (10, 25, 40)",
                    name));
    json mapping;
    mapping["mappings"]["properties"]["stock"]["type"] = "integer";
    mapping["aliases"][name] = json::object();
    create_index(elasticsearch, first_index, mapping);
    create_topic(brokers, name, 2);
    create_topic(brokers, name + "-dead-letter", 2);

    IndexerProcess indexer(
        name, fmt::format(R"(
http: {{listen: "{listen}"}}
kafka:
  brokers: {brokers}
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 20, max_wait: 100ms}}
)",
                          fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                          fmt::arg("postgres", postgres), fmt::arg("name", name),
                          fmt::arg("elasticsearch", elasticsearch)));

    // Small publishes, one bad row in each of three of them: no batch is mostly rejections.
    TestProducer producer(brokers);
    for (int first = 1; first <= 50; first += 10) {
        for (int id = first; id < first + 10; ++id)
            producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
        producer.flush();
        std::this_thread::sleep_for(300ms);
    }
    EXPECT_EQ(wait_until_committed(brokers, name, name, 50, 90s), 50) << indexer.output();
    EXPECT_TRUE(eventually([&] { return index.count() == 47; }, 30s)) << index.count() << "\n"
                                                                      << indexer.output();
    const auto letters = read_topic(brokers, name + "-dead-letter", 4, 10s);
    ASSERT_EQ(letters.size(), 3u) << indexer.output();

    // The listing: one group, the mapping conflict on [stock], three letters to replay.
    const CommandRun listing = dead_letters(indexer.config_file(), name, {"--json"});
    ASSERT_EQ(listing.status, 0) << listing.output;
    ASSERT_TRUE(listing.result.is_object()) << listing.output;
    ASSERT_EQ(listing.result["groups"].size(), 1u) << listing.result.dump(2);
    const json& group = listing.result["groups"][0];
    EXPECT_EQ(group["stage"], "sink-reject");
    EXPECT_THAT(group["reason"].get<std::string>(), HasSubstr("mapper_parsing_exception"));
    EXPECT_THAT(group["reason"].get<std::string>(), HasSubstr("[stock]"));
    EXPECT_THAT(group["reason"].get<std::string>(), HasSubstr("of id <id>"));
    EXPECT_EQ(group["letters"], 3);
    EXPECT_EQ(group["to_replay"], 3);
    EXPECT_EQ(group["replayed"], 0);
    ASSERT_EQ(group["examples"].size(), 2u);
    for (const json& example : group["examples"]) {
        EXPECT_TRUE(bad_ids.contains(example["key"].get<std::string>())) << example.dump();
        EXPECT_EQ(example["source"]["topic"], name);
    }
    EXPECT_EQ(listing.result["total"]["letters"], 3);

    const CommandRun text = dead_letters(indexer.config_file(), name, {});
    ASSERT_EQ(text.status, 0) << text.output;
    EXPECT_THAT(text.output, HasSubstr("[sink-reject] sink elasticsearch rejected the upsert of id <id>"));
    EXPECT_THAT(text.output, HasSubstr("3 letter(s): 3 to replay, 0 replayed"));

    // The fix: a new index where stock is a keyword, with the documents so far, behind the alias.
    json fixed_mapping;
    fixed_mapping["mappings"]["properties"]["stock"]["type"] = "keyword";
    create_index(elasticsearch, fixed_index, fixed_mapping);
    expect_ok(http("POST", elasticsearch + "/_reindex?refresh=true",
                   fmt::format(R"({{"source": {{"index": "{}"}}, "dest": {{"index": "{}"}}}})", first_index,
                               fixed_index)),
              "_reindex");
    expect_ok(http("POST", elasticsearch + "/_aliases",
                   fmt::format(R"({{"actions": [{{"remove": {{"index": "{0}", "alias": "{2}"}}}},
                                                {{"add": {{"index": "{1}", "alias": "{2}"}}}}]}})",
                               first_index, fixed_index, name)),
              "_aliases");
    ASSERT_EQ(index.count(), 47);

    // A replay of another cause publishes nothing and leaves the letters for later.
    const CommandRun other_cause =
        dead_letters(indexer.config_file(), name, {"--replay", "--reason", "version conflict", "--json"});
    ASSERT_EQ(other_cause.status, 0) << other_cause.output;
    EXPECT_EQ(other_cause.result["replayed"], 0) << other_cause.output;
    EXPECT_EQ(other_cause.result["not_selected"], 3) << other_cause.output;

    const CommandRun replay = dead_letters(indexer.config_file(), name,
                                           {"--replay", "--reason", "mapper_parsing_exception", "--json"});
    ASSERT_EQ(replay.status, 0) << replay.output;
    EXPECT_EQ(replay.result["replayed"], 3) << replay.output;
    EXPECT_EQ(replay.result["target_topic"], name);

    const auto found = wait_until_index_matches(database, name, index, 60s);
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers, name, name, 53, 60s), 53) << indexer.output();

    const CommandRun after = dead_letters(indexer.config_file(), name, {"--json"});
    ASSERT_EQ(after.status, 0) << after.output;
    ASSERT_EQ(after.result["groups"].size(), 1u) << after.output;
    EXPECT_EQ(after.result["groups"][0]["replayed"], 3);
    EXPECT_EQ(after.result["groups"][0]["to_replay"], 0);

    // Again, without a reason: everything was replayed already.
    const CommandRun again = dead_letters(indexer.config_file(), name, {"--replay"});
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_THAT(again.output, HasSubstr("Replayed 0 dead letter(s)"));
    EXPECT_THAT(again.output, HasSubstr("3 already replayed"));
    // Nothing more reached the pipeline's topic, and nothing was rejected again.
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(committed_total(brokers, name, name), 53);
    EXPECT_EQ(read_topic(brokers, name + "-dead-letter", 4, 5s).size(), 3u);

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

// The indexer.* headers of a dead letter of `pipeline`, for the message at `offset` of `topic`.
std::map<std::string, std::string> dead_letter_headers(const std::string& pipeline, const std::string& topic,
                                                       int offset, const std::string& reason) {
    return {{"indexer.reason", reason},        {"indexer.stage", "sink-reject"},
            {"indexer.pipeline", pipeline},    {"indexer.source.topic", topic},
            {"indexer.source.partition", "0"}, {"indexer.source.offset", std::to_string(offset)}};
}

TEST(DeadLetters, ReplayRestoresTheOriginalMessageAndSkipsTruncatedLettersAndOtherPipelines) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    const std::string name = unique_name("deadletters-replay");
    create_topic(brokers, name, 1);
    create_topic(brokers, name + "-dead-letter", 2);
    const std::filesystem::path config = scratch_directory(name) / "indexer.yaml";
    std::ofstream(config) << fmt::format(R"(
kafka:
  brokers: {brokers}
postgres:
  url: postgresql://indexer@127.0.0.1:1/shop
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: products}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["http://127.0.0.1:1"], index: products}}}}
)",
                                         fmt::arg("brokers", brokers), fmt::arg("name", name));

    // Letters as the indexer writes them: the original's headers, then its own.
    const std::string rejected =
        "sink elasticsearch rejected the upsert of id {}: HTTP 400: mapper_parsing_exception";
    TestProducer producer(brokers);
    auto headers = dead_letter_headers(name, name, 0, fmt::format(fmt::runtime(rejected), 1));
    headers["trace"] = "first";
    producer.send(name + "-dead-letter", "1", R"({"id": 1})", headers);
    producer.send(name + "-dead-letter", "2", R"({"id": 2, "note": "x"})",
                  dead_letter_headers(name, name, 1, fmt::format(fmt::runtime(rejected), 2)));
    auto truncated = dead_letter_headers(name, name, 2, "value is not JSON: too large");
    truncated["indexer.value.truncated"] = "2000000";
    producer.send(name + "-dead-letter", "3", std::nullopt, truncated);
    producer.send(name + "-dead-letter", "4", R"({"id": 4})",
                  dead_letter_headers(name + "-cache", name, 3, fmt::format(fmt::runtime(rejected), 4)));
    producer.flush();

    const CommandRun listing = dead_letters(config, name, {"--json"});
    ASSERT_EQ(listing.status, 0) << listing.output;
    EXPECT_EQ(listing.result["total"]["letters"], 3) << listing.output;
    EXPECT_EQ(listing.result["total"]["to_replay"], 2) << listing.output;
    EXPECT_EQ(listing.result["total"]["cannot_replay"], 1) << listing.output;
    EXPECT_EQ(listing.result["other_pipelines"][name + "-cache"], 1) << listing.output;
    EXPECT_EQ(listing.result["groups"].size(), 2u) << listing.output;

    const CommandRun replay = dead_letters(config, name, {"--replay", "--json"});
    ASSERT_EQ(replay.status, 0) << replay.output;
    EXPECT_EQ(replay.result["replayed"], 2) << replay.output;
    EXPECT_EQ(replay.result["cannot_replay"], 1) << replay.output;
    EXPECT_EQ(replay.result["other_pipelines"], 1) << replay.output;

    // Exactly the two originals, as the application sent them (asking for one more shows there is none).
    auto replayed = read_topic(brokers, name, 3, 5s);
    ASSERT_EQ(replayed.size(), 2u);
    std::sort(replayed.begin(), replayed.end(),
              [](const ReadMessage& a, const ReadMessage& b) { return a.key < b.key; });
    EXPECT_EQ(replayed[0].key, "1");
    EXPECT_EQ(replayed[0].value, R"({"id": 1})");
    EXPECT_EQ(replayed[0].headers, (std::map<std::string, std::string>{{"trace", "first"}}));
    EXPECT_EQ(replayed[1].key, "2");
    EXPECT_EQ(replayed[1].value, R"({"id": 2, "note": "x"})");
    EXPECT_TRUE(replayed[1].headers.empty());

    const CommandRun after = dead_letters(config, name, {});
    ASSERT_EQ(after.status, 0) << after.output;
    EXPECT_THAT(after.output, HasSubstr("Total: 3 letter(s): 0 to replay, 2 replayed, 1 cannot be replayed"));
    EXPECT_THAT(after.output, HasSubstr(name + "-cache (1)"));
}

TEST(DeadLetters, AnUnknownPipelineIsAnErrorNamingItAndTheKnownOnes) {
    const std::filesystem::path directory = scratch_directory(unique_name("deadletters-unknown"));
    const std::filesystem::path config = directory / "indexer.yaml";
    std::ofstream(config) << R"(
kafka:
  brokers: 127.0.0.1:1
postgres:
  url: postgresql://indexer:s3cret-pass@127.0.0.1:1/shop
pipelines:
  - name: products-search
    topic: products
    source: {table: products}
    sink: {plugin: elasticsearch, config: {hosts: ["http://127.0.0.1:1"], index: products}}
)";
    const CommandRun run = dead_letters(config, "products-serch", {});
    EXPECT_EQ(run.status, 2) << run.output;
    EXPECT_THAT(run.output, HasSubstr(R"(no pipeline named "products-serch")"));
    EXPECT_THAT(run.output, HasSubstr("(pipelines: products-search)"));
    EXPECT_THAT(run.output, ::testing::Not(HasSubstr("s3cret-pass")));
}

}  // namespace
}  // namespace indexer::testing
