// Ids that are not integers — UUIDs in any spelling PostgreSQL accepts, text
// with every character that could break quoting — and a custom query that
// builds nested documents: indexed, updated and deleted exactly as the
// database says.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

std::string one_pipeline_config(const std::string& brokers, const std::string& postgres,
                                const std::string& name, const std::string& source,
                                const std::string& elasticsearch) {
    return fmt::format(R"(
http: {{listen: "{listen}"}}
kafka:
  brokers: {brokers}
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    source:
{source}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 50, max_wait: 100ms}}
)",
                       fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                       fmt::arg("postgres", postgres), fmt::arg("name", name), fmt::arg("source", source),
                       fmt::arg("elasticsearch", elasticsearch));
}

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    return text;
}

// The spellings of one UUID that PostgreSQL's uuid input accepts.
std::string spelling(const std::string& uuid, int variant) {
    switch (variant % 4) {
        case 0:
            return uuid;
        case 1:
            return upper(uuid);
        case 2:
            return "{" + upper(uuid) + "}";
        default: {
            std::string bare = uuid;
            std::erase(bare, '-');
            return bare;
        }
    }
}

TEST(Keys, UuidIdsInAnySpellingReachOneDocumentEachAndDeletesConverge) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("uuidkey");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    database.execute(fmt::format(
        "CREATE TABLE {0} (id uuid PRIMARY KEY, name text NOT NULL, n integer);"
        "INSERT INTO {0} SELECT md5(g::text)::uuid, 'item ' || g, g FROM generate_series(1, 40) g",
        name));
    create_topic(brokers, name, 2);
    IndexerProcess indexer(
        name, one_pipeline_config(brokers, postgres, name, "      table: " + name, elasticsearch));

    // Every id announced in lower case, upper case, braces, or without hyphens:
    // the loader canonicalises them, so each reaches its one lower-case document.
    std::vector<std::string> ids;
    for (const auto& [id, row] : database.rows(name)) ids.push_back(id);
    ASSERT_EQ(ids.size(), 40u);
    TestProducer producer(brokers);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::string id = spelling(ids[i], static_cast<int>(i));
        producer.send(name, id, R"({"id": )" + json_string(id) + "}");
    }
    // The same ids once more in upper case: still one document per row.
    for (const std::string& id : ids)
        producer.send(name, upper(id), R"({"id": )" + json_string(upper(id)) + "}");
    // A UUID that has no row: nothing is created.
    producer.send(name, std::nullopt, R"({"id": "6F9619FF-8B86-D011-B42D-00CF4FC964FF"})");
    producer.flush();

    auto found = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    const auto upper_case = index.get({upper(ids[1]), upper(ids[2])});
    EXPECT_TRUE(upper_case.empty()) << "a document was written under an upper-case id";

    // Deletes announced in upper case remove the lower-case documents.
    std::vector<std::string> deleted;
    for (std::size_t i = 3; i < ids.size(); i += 4) deleted.push_back(ids[i]);
    database.execute(
        fmt::format("DELETE FROM {} WHERE id::text IN (SELECT json_array_elements_text($json${}$json$))",
                    name, nlohmann::json(deleted).dump()));
    for (const std::string& id : deleted)
        producer.send(name, upper(id), R"({"id": )" + json_string(upper(id)) + "}");
    producer.flush();
    found = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(found.empty()) << "after deletes:" << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(index.count(), 30);

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

TEST(Keys, TextIdsWithAnyCharactersAreIndexedAndDeletedExactly) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("textkey");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    database.execute(
        fmt::format("CREATE TABLE {} (id text PRIMARY KEY, label text NOT NULL, position integer)", name));
    // Characters that matter to SQL, to PostgreSQL's array literals, to JSON, to
    // URLs and to Elasticsearch's ids; "NULL" is a NULL element in an array
    // literal unless quoted.
    const std::vector<std::string> ids = {
        "plain",
        "with space",
        "  leading and trailing  ",
        "double\"quote",
        "it's",
        "comma,separated",
        "{braces}",
        "{1,2}",
        "slash/and\\backslash",
        "\\",
        "Grüße, 世界, emoji 🎉",
        "NULL",
        "null",
        "42",
        "007",
        "a\"b,c{d}e\\f'g",
        "tab\there",
        "new\nline",
        "semi;colon -- comment",
        "percent%20and+plus?query=1#hash",
        "$1",
        "'); DROP TABLE x; --",
        std::string(300, 'x'),
    };
    // Inserted from a JSON array, so that no id needs SQL quoting here.
    const nlohmann::json all = ids;
    database.execute(
        fmt::format("INSERT INTO {} SELECT value, 'label of ' || value, ordinality::integer "
                    "FROM json_array_elements_text($json${}$json$) WITH ORDINALITY",
                    name, all.dump()));
    ASSERT_EQ(database.rows(name).size(), ids.size());
    create_topic(brokers, name, 3);
    IndexerProcess indexer(
        name, one_pipeline_config(brokers, postgres, name, "      table: " + name, elasticsearch));

    TestProducer producer(brokers);
    for (const std::string& id : ids) producer.send(name, id, R"({"id": )" + json_string(id) + "}");
    producer.send(name, "42", R"({"id": 42})");  // an integer id for a text column: its text
    producer.send(name, "never existed", R"({"id": "never existed"})");
    producer.flush();

    auto found = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();

    const std::vector<std::string> deleted = {"with space",      "{braces}",  "NULL", "Grüße, 世界, emoji 🎉",
                                              "a\"b,c{d}e\\f'g", "new\nline", "\\"};
    database.execute(
        fmt::format("DELETE FROM {} WHERE id IN (SELECT json_array_elements_text($json${}$json$))", name,
                    nlohmann::json(deleted).dump()));
    database.execute(fmt::format(
        "UPDATE {} SET label = label || ' (changed)' WHERE id IN ('plain', 'null', '007')", name));
    for (const std::string& id : deleted) producer.send(name, id, R"({"id": )" + json_string(id) + "}");
    for (const std::string id : {"plain", "null", "007"})
        producer.send(name, id, json_string(id));  // bare strings
    producer.flush();

    found = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(found.empty()) << "after deletes:" << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(index.count(), static_cast<long>(ids.size() - deleted.size()));

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

TEST(CustomQuery, NestedDocumentsEqualTheQueryRunInPostgres) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("nested");
    const std::string products = name + "_products";
    const std::string reviews = name + "_reviews";
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute(
            fmt::format("DROP TABLE IF EXISTS {1}; DROP TABLE IF EXISTS {0}", products, reviews));
    });
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL);"
                    "CREATE TABLE {1} (id bigint PRIMARY KEY, product_id bigint NOT NULL REFERENCES {0} ON "
                    "DELETE CASCADE, "
                    "stars integer NOT NULL, body text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'product ' || g || ' – ü' FROM generate_series(1, 30) g;"
                    // Products 1..25 get (id % 4) reviews each; 26..30 none.
                    "INSERT INTO {1} SELECT row_number() OVER (), p, 1 + (p + r) % 5, 'review ' || r || ' of "
                    "' || p || ' «ok»' "
                    "FROM generate_series(1, 25) p, generate_series(1, 3) r WHERE r <= p % 4",
                    products, reviews));
    const std::string query = fmt::format(
        "SELECT p.id, json_build_object('id', p.id, 'name', p.name, 'reviews', COALESCE((SELECT "
        "json_agg(json_build_object('stars', r.stars, 'text', r.body) ORDER BY r.id) FROM {1} r WHERE "
        "r.product_id = p.id), '[]'::json)) AS document FROM {0} p WHERE p.id = ANY($1)",
        products, reviews);
    create_topic(brokers, name, 2);
    IndexerProcess indexer(
        name, one_pipeline_config(brokers, postgres, name,
                                  "      id_column: id\n      query: |\n        " + query, elasticsearch));

    const std::string every_id =
        "{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30}";
    const auto expected = query_documents(database, query, every_id);
    ASSERT_EQ(expected.size(), 30u);
    ASSERT_EQ(expected.at("3").at("reviews").size(), 3u);  // the nesting the test is about
    ASSERT_EQ(expected.at("28").at("reviews"), nlohmann::json::array());

    TestProducer producer(brokers);
    for (int id = 1; id <= 30; ++id)
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    producer.send(name, "999", R"({"id": 999})");  // no such product: no document
    producer.flush();
    auto found = wait_until_index_holds(index, expected, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();

    // A review changes, a product gets its first review, a product and its
    // reviews are deleted: announcing the product ids is enough.
    database.execute(
        fmt::format("UPDATE {1} SET stars = 5, body = 'changed \"quoted\"' WHERE product_id = 3 AND id = "
                    "(SELECT min(id) FROM "
                    "{1} WHERE product_id = 3);"
                    "INSERT INTO {1} VALUES (1000, 28, 4, 'first review of 28');"
                    "DELETE FROM {0} WHERE id IN (7, 11)",
                    products, reviews));
    for (int id : {3, 28, 7, 11}) producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    producer.flush();
    const auto changed = query_documents(database, query, every_id);
    ASSERT_EQ(changed.size(), 28u);
    found = wait_until_index_holds(index, changed, seconds(90));
    EXPECT_TRUE(found.empty()) << "after changes:" << summarize(found) << "\n" << indexer.output();

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

}  // namespace
}  // namespace indexer::testing
