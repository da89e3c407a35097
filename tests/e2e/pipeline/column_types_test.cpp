// Every common PostgreSQL column type goes through the whole path — row_to_json
// in PostgreSQL, the Kafka-driven pipeline, the Elasticsearch sink — and comes
// out in Elasticsearch and OpenSearch exactly as PostgreSQL renders the row:
// numbers at their full precision, NULLs as nulls, arrays, json and jsonb
// objects, and text with quotes, backslashes, control characters and
// non-ASCII characters.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

// One column of each common type; every column but the id is nullable. As a
// user's schema would, each column keeps one shape across rows, so that
// Elasticsearch's dynamic mapping accepts every document whichever comes
// first: json objects of one layout, and real/double values that never print
// as integers (a first "0" would map the field as long, and 6.02e23 would not fit).
constexpr const char* kCreateTable = R"(
CREATE TABLE {0} (
  id bigint PRIMARY KEY,
  c_smallint smallint, c_integer integer, c_bigint bigint, c_numeric numeric,
  c_real real, c_double double precision, c_boolean boolean,
  c_text text, c_varchar varchar(60), c_char char(5), c_uuid uuid,
  c_date date, c_timestamp timestamp, c_timestamptz timestamptz, c_time time, c_interval interval,
  c_bytea bytea, c_json json, c_jsonb jsonb, c_int_array integer[], c_text_array text[]);
INSERT INTO {0} VALUES
 (1, 32767, 2147483647, 9223372036854775807, 12345.6789, 3.14, 2.718281828459045, true,
  'plain text', 'varchar value', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '2024-02-29', '2024-02-29 13:45:30.123456', '2024-02-29 13:45:30.123456+02', '13:45:30', '1 day 02:00:00',
  '\x0001ff', '{{"name": "first", "sizes": [1, 2, 3], "meta": {{"k": "v"}}}}',
  '{{"name": "first", "sizes": [1, 2, 3], "meta": {{"k": "v"}}}}', '{{1,2,3}}', '{{"a","b c"}}'),
 (2, -32768, -2147483648, -9223372036854775808, -0.000001, -1.5e-10, 6.02214076e23, false,
  E'Grüße, 世界, emoji 🎉 — "double" and ''single'' quotes, back\\slash C:\\dir\\file, \n new line,\ttab, \x01 control',
  'ünïcödé ✓ 𝄞', 'äb', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12',
  '0001-01-01', '1970-01-01 00:00:00', '2000-01-01 00:00:00-08:30', '00:00:00.5', '-1 mons -00:00:01',
  '\x', '{{"name": "zwei – ü \"q\" \\ 🎉", "sizes": [], "meta": {{"k": "日本語"}}}}',
  '{{"name": "zwei", "sizes": [], "meta": {{"k": "\u00e9\n"}}}}',
  '{{-1,NULL,0}}', ARRAY['', 'NULL', 'quo"te', E'back\\slash', 'Grüße 🎉', E'new\nline']),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL),
 (4, 0, 0, 0, 123456789012345678901234567890.123456789, 0.25, -0.5, true, '', '', '', '00000000-0000-0000-0000-000000000000',
  '2262-04-11', '2262-04-11 23:47:16.854775', '2262-04-11 23:47:16.854775+00', '23:59:59.999999', '0',
  '\xdeadbeef', '{{"name": "", "sizes": [0], "meta": {{"k": ""}}}}', '{{"name": "", "sizes": [0], "meta": {{}}}}',
  '{{}}', '{{}}');
INSERT INTO {0}
SELECT g, (g % 100)::smallint, g * 1000, g::bigint * 1000000007, g / 7.0, (g + 0.5) / 3.0, (g + 0.5) / 11, g % 2 = 0,
       'row ' || g || ' ∑ «' || repeat('x', g % 5) || '»', 'v' || g, 'c' || (g % 10), md5(g::text)::uuid,
       DATE '2020-01-01' + g, TIMESTAMP '2020-01-01 00:00:00' + g * INTERVAL '1 hour 1 second',
       TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '1 minute 1.5 seconds',
       TIME '00:00' + g * INTERVAL '1 minute', g * INTERVAL '1 day 1 second',
       decode(md5(g::text), 'hex'),
       json_build_object('name', 'n' || g, 'sizes', ARRAY[g, g + 1], 'meta', json_build_object('k', 'k' || g)),
       jsonb_build_object('name', 'n' || g, 'sizes', ARRAY[g], 'meta', jsonb_build_object('k', 'ü' || g)),
       ARRAY[g, NULL, -g], ARRAY['t' || g, NULL, 'ü']
  FROM generate_series(5, 60) g;
)";

TEST(ColumnTypes, EveryCommonColumnTypeReachesElasticsearchAndOpenSearchAsPostgresRendersIt) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");
    INDEXER_REQUIRE_SERVICE(opensearch, "INDEXER_TEST_OPENSEARCH");

    const std::string name = unique_name("types");
    const Database database(postgres);
    const SearchIndex es_index(elasticsearch, name + "-es");
    const SearchIndex os_index(opensearch, name + "-os");
    const Cleanup cleanup([&] {
        es_index.remove();
        os_index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    database.execute(fmt::format(kCreateTable, name));
    create_topic(brokers, name, 2);

    const std::string config =
        fmt::format(R"(
http: {{listen: "{listen}"}}
kafka:
  brokers: {brokers}
postgres:
  url: {postgres}
pipelines:
  - name: {name}-es
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}-es}}}}
    batch: {{max_messages: 20, max_wait: 100ms}}
  - name: {name}-os
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{opensearch}"], index: {name}-os}}}}
)",
                    fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                    fmt::arg("postgres", postgres), fmt::arg("name", name),
                    fmt::arg("elasticsearch", elasticsearch), fmt::arg("opensearch", opensearch));
    IndexerProcess indexer(name, config);

    TestProducer producer(brokers);
    for (int id = 1; id <= 60; ++id)
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    producer.flush();

    auto es_differences = wait_until_index_matches(database, name, es_index, seconds(120));
    EXPECT_TRUE(es_differences.empty()) << "Elasticsearch:" << summarize(es_differences) << "\n"
                                        << indexer.output();
    auto os_differences = wait_until_index_matches(database, name, os_index, seconds(120));
    EXPECT_TRUE(os_differences.empty()) << "OpenSearch:" << summarize(os_differences) << "\n"
                                        << indexer.output();

    // The row of NULLs gets values, a row of values becomes NULLs, one row goes:
    // documents follow, field by field.
    database.execute(fmt::format(
        "UPDATE {0} AS t SET (c_smallint, c_integer, c_bigint, c_numeric, c_real, c_double, c_boolean, "
        "c_text, "
        "c_varchar, c_char, c_uuid, c_date, c_timestamp, c_timestamptz, c_time, c_interval, c_bytea, c_json, "
        "c_jsonb, c_int_array, c_text_array) = (SELECT c_smallint, c_integer, c_bigint, c_numeric, c_real, "
        "c_double, c_boolean, c_text || ' (copy)', c_varchar, c_char, c_uuid, c_date, c_timestamp, "
        "c_timestamptz, c_time, c_interval, c_bytea, c_json, c_jsonb, c_int_array, c_text_array FROM {0} "
        "WHERE id = 2) WHERE t.id = 3;"
        "UPDATE {0} SET c_text = NULL, c_json = NULL, c_int_array = NULL, c_numeric = NULL WHERE id = 1;"
        "DELETE FROM {0} WHERE id = 4",
        name));
    for (int id : {1, 3, 4}) producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    producer.flush();

    es_differences = wait_until_index_matches(database, name, es_index, seconds(120));
    EXPECT_TRUE(es_differences.empty()) << "Elasticsearch after updates:" << summarize(es_differences) << "\n"
                                        << indexer.output();
    os_differences = wait_until_index_matches(database, name, os_index, seconds(120));
    EXPECT_TRUE(os_differences.empty()) << "OpenSearch after updates:" << summarize(os_differences);

    // Nothing was refused on the way.
    EXPECT_EQ(indexer.output().find("dead-lettered"), std::string::npos) << indexer.output();
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

}  // namespace
}  // namespace indexer::testing
