// Bad input never stops a pipeline and is never lost silently: malformed
// messages and documents the sink refuses go to the dead-letter topic with
// their original key and value and headers saying why and where they came
// from, the good messages around them are indexed, and the offsets move past
// all of them. Every message format KafkaSync producers send is accepted.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>

#include <optional>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

struct BadMessage {
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::string stage;            // indexer.stage expected on its dead letter
    std::string reason_contains;  // a part of indexer.reason
};

// The message of `topic` read back with the same key and value (its partition and offset).
std::optional<ReadMessage> find_message(const std::vector<ReadMessage>& messages,
                                        const std::optional<std::string>& key,
                                        const std::optional<std::string>& value) {
    for (const ReadMessage& message : messages) {
        if (message.key == key && message.value == value) return message;
    }
    return std::nullopt;
}

// Checks that `letters` hold exactly one dead letter per bad message, each
// naming its original; returns the problems found.
std::vector<std::string> check_dead_letters(const std::vector<ReadMessage>& letters,
                                            const std::vector<ReadMessage>& source, const std::string& topic,
                                            const std::string& pipeline, const std::vector<BadMessage>& bad) {
    std::vector<std::string> problems;
    if (letters.size() != bad.size()) {
        problems.push_back(fmt::format("{} dead letters, {} bad messages", letters.size(), bad.size()));
    }
    for (const BadMessage& message : bad) {
        const std::string what = "message " + (message.key ? json_string(*message.key) : "(no key)") + " → " +
                                 (message.value ? json_string(*message.value) : "(null)");
        const auto original = find_message(source, message.key, message.value);
        if (!original) {
            problems.push_back(what + ": not found in the source topic");
            continue;
        }
        const auto letter = find_message(letters, message.key, message.value);
        if (!letter) {
            problems.push_back(what + ": no dead letter");
            continue;
        }
        for (const std::string& problem : dead_letter_problems(*letter, *original, topic, pipeline,
                                                               message.stage, message.reason_contains)) {
            problems.push_back(what + ": " + problem);
        }
    }
    return problems;
}

TEST(BadInput, MalformedMessagesAreDeadLetteredWithReasonsWhileTheValidOnesAreIndexed) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("badin");
    const std::string small = name + "_int";  // an integer id column, for out-of-range ids
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const SearchIndex small_index(elasticsearch, small);
    const Cleanup cleanup([&] {
        index.remove();
        small_index.remove();
        database.execute(fmt::format("DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {}", name, small));
    });
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'row ' || g FROM generate_series(1, 30) g;"
                    "CREATE TABLE {1} (id integer PRIMARY KEY, name text NOT NULL);"
                    "INSERT INTO {1} SELECT g, 'small ' || g FROM generate_series(1, 5) g",
                    name, small));
    // One partition each, so that "the end of the topic" is one offset.
    for (const std::string& topic : {name, name + "-dead-letter", small, small + "-dead-letter"})
        create_topic(brokers, topic, 1);

    const std::string config =
        fmt::format(R"(
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
    batch: {{max_messages: 7, max_wait: 100ms}}
  - name: {small}
    topic: {small}
    source: {{table: {small}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {small}}}}}
)",
                    fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                    fmt::arg("postgres", postgres), fmt::arg("name", name), fmt::arg("small", small),
                    fmt::arg("elasticsearch", elasticsearch));
    IndexerProcess indexer(name, config);

    const std::vector<BadMessage> bad = {
        {"not-json", "not json at all", "parse", "not JSON"},
        {"truncated", R"({"id": 4)", "parse", "not JSON"},
        {"no-id", R"({"product_id": 7})", "parse", "missing"},
        {"boolean", R"({"id": true})", "parse", "boolean"},
        {"object", R"({"id": {"value": 3}})", "parse", "object"},
        {"float", R"({"id": 1.5})", "parse", "not an integer"},
        {"null-id", R"({"id": null})", "parse", "null"},
        {"array", "[1, 2]", "parse", "array"},
        {"empty-string", R"({"id": ""})", "parse", "empty"},
        {std::nullopt, "", "parse", "no key"},
        {"beyond-64-bits", R"({"id": 123456789012345678901234567890})", "id-type", "out of range"},
        {"text-for-bigint", R"({"id": "abc"})", "id-type", "abc"},
        {"uuid-for-bigint", R"({"id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"})", "id-type", "a0eebc99"},
        {"out-of-bigint-range", R"({"id": 9223372036854775808})", "id-type", "out of range"},
    };
    const std::vector<BadMessage> bad_small = {
        {"out-of-integer-range", R"({"id": 2147483648})", "id-type", "out of range"},
        {"below-integer-range", R"({"id": -2147483649})", "id-type", "out of range"},
        {"text-for-integer", R"("abc")", "id-type", "abc"},
    };

    // Valid and bad messages interleaved, then more valid ones after the last bad one.
    TestProducer producer(brokers);
    int next_id = 1;
    for (const BadMessage& message : bad) {
        producer.send(name, std::to_string(next_id), fmt::format(R"({{"id": {}}})", next_id));
        ++next_id;
        producer.send(name, message.key, message.value);
    }
    for (; next_id <= 30; ++next_id)
        producer.send(name, std::to_string(next_id), fmt::format(R"({{"id": {}}})", next_id));
    for (std::size_t id = 1; id <= 5; ++id) {
        producer.send(small, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
        if (id <= bad_small.size()) producer.send(small, bad_small[id - 1].key, bad_small[id - 1].value);
    }
    producer.flush();
    const std::int64_t total = 30 + static_cast<std::int64_t>(bad.size());
    const std::int64_t total_small = 5 + static_cast<std::int64_t>(bad_small.size());

    // The valid ones are all indexed.
    auto found = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    found = wait_until_index_matches(database, small, small_index, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();

    // Committed to the end of each topic: the pipelines moved past every bad message.
    EXPECT_EQ(wait_until_committed(brokers, name, name, total, seconds(60)), total) << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers, small, small, total_small, seconds(60)), total_small)
        << indexer.output();

    // Dead letters were acknowledged before those commits: every one is there,
    // and nothing else (asking for one more shows there is none).
    const auto source = read_topic(brokers, name, static_cast<std::size_t>(total), seconds(30));
    ASSERT_EQ(source.size(), static_cast<std::size_t>(total));
    const auto letters = read_topic(brokers, name + "-dead-letter", bad.size() + 1, seconds(5));
    auto problems = check_dead_letters(letters, source, name, name, bad);
    EXPECT_TRUE(problems.empty()) << summarize(problems, 40);

    const auto source_small = read_topic(brokers, small, static_cast<std::size_t>(total_small), seconds(30));
    const auto letters_small = read_topic(brokers, small + "-dead-letter", bad_small.size() + 1, seconds(5));
    problems = check_dead_letters(letters_small, source_small, small, small, bad_small);
    EXPECT_TRUE(problems.empty()) << summarize(problems, 40);

    // Still running, and still indexing.
    EXPECT_TRUE(indexer.process().running()) << indexer.output();
    database.execute(fmt::format("INSERT INTO {} VALUES (31, 'after the bad ones')", name));
    producer.send(name, "31", R"({"id": 31})");
    producer.flush();
    found = wait_until_index_matches(database, name, index, seconds(60));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

TEST(BadInput, EveryKafkaSyncMessageFormatIsAccepted) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("formats");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'row ' || g FROM generate_series(1, 8) g",
                    name));
    create_topic(brokers, name, 1);
    create_topic(brokers, name + "-dead-letter", 1);
    const std::string config = fmt::format(
        R"(
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
    batch: {{max_messages: 3, max_wait: 100ms}}
)",
        fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
        fmt::arg("postgres", postgres), fmt::arg("name", name), fmt::arg("elasticsearch", elasticsearch));
    IndexerProcess indexer(name, config);

    TestProducer producer(brokers);
    producer.send(name, "1", R"({"id": 1})");     // instant message
    producer.send(name, std::nullopt, "2");       // a bare number
    producer.send(name, std::nullopt, R"("3")");  // a bare string
    producer.send(name, "4", "");                 // empty value, id in the key
    producer.send(name, "5", std::nullopt);       // null value, id in the key
    producer.send(name, std::nullopt,
                  R"({"payload": {"id": 6}, "created_at": 1700000000})");  // delay wrapper
    producer.send(name, "7", R"({"id": "7"})");                            // an integer id as text
    producer.send(name, "8",
                  " {\"id\": 8, \"op\": \"update\", \"extra\": [1, 2]}\n");  // extra fields, blanks
    producer.flush();

    const auto found = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers, name, name, 8, seconds(60)), 8) << indexer.output();
    EXPECT_TRUE(read_topic(brokers, name + "-dead-letter", 1, seconds(3)).empty()) << indexer.output();

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

TEST(BadInput, DocumentsTheSinkRejectsAreDeadLetteredWithItsReasonAndTheRestOfTheBatchIsWritten) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("reject");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    // Row 7's price has a fraction and row 13's sku is not a number: the
    // index's explicit mapping refuses both.
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL, price numeric, sku text);"
                    "INSERT INTO {0} SELECT g, 'row ' || g, CASE WHEN g = 7 THEN 1.5 ELSE g * 10 END, "
                    "CASE WHEN g = 13 THEN 'abc' ELSE (1000 + g)::text END FROM generate_series(1, 20) g",
                    name));
    create_index(
        elasticsearch, name,
        {{"mappings",
          {{"properties",
            {{"price", {{"type", "integer"}, {"coerce", false}}}, {"sku", {{"type", "integer"}}}}}}}});
    create_topic(brokers, name, 1);
    create_topic(brokers, name + "-dead-letter", 1);
    const std::string config = fmt::format(
        R"(
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
    batch: {{max_messages: 1000, max_wait: 1s}}
)",
        fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
        fmt::arg("postgres", postgres), fmt::arg("name", name), fmt::arg("elasticsearch", elasticsearch));

    // All published before the indexer starts, so that they form one batch.
    TestProducer producer(brokers);
    for (int id = 1; id <= 20; ++id)
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    producer.flush();
    IndexerProcess indexer(name, config);

    auto expected = database.rows(name);
    expected.erase("7");
    expected.erase("13");
    auto found = wait_until_index_holds(index, expected, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers, name, name, 20, seconds(60)), 20) << indexer.output();

    const auto source = read_topic(brokers, name, 20, seconds(30));
    const auto letters = read_topic(brokers, name + "-dead-letter", 3, seconds(5));
    const std::vector<BadMessage> rejected = {
        {"7", R"({"id": 7})", "sink-reject", "mapper_parsing_exception"},
        {"13", R"({"id": 13})", "sink-reject", "mapper_parsing_exception"},
    };
    const auto problems = check_dead_letters(letters, source, name, name, rejected);
    EXPECT_TRUE(problems.empty()) << summarize(problems, 40);
    for (const ReadMessage& letter : letters) {
        // Elasticsearch's own words name the field it refused.
        const std::string reason =
            letter.headers.count("indexer.reason") ? letter.headers.at("indexer.reason") : "";
        const std::string field = letter.key == "7" ? "[price]" : "[sku]";
        EXPECT_NE(reason.find(field), std::string::npos) << reason;
    }

    // Once the row is fixed, announcing it again indexes it.
    database.execute(fmt::format("UPDATE {} SET price = 2 WHERE id = 7", name));
    producer.send(name, "7", R"({"id": 7})");
    producer.flush();
    expected = database.rows(name);
    expected.erase("13");
    found = wait_until_index_holds(index, expected, seconds(60));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

}  // namespace
}  // namespace indexer::testing
