// Self-healing: an application commits, then dies before its instant message.
// Only the delay message it published before the commit exists; the delayer
// re-publishes it once it is `delay` old and the index converges then, not
// before.
#include "support/e2e.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>

#include <ctime>

namespace indexer::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SelfHealing, DelayMessagesAloneRepairTheIndexAfterTheDelayAndNotBefore) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("heal");
    const std::string delay_topic = name + "-delay";
    const Database database(postgres);
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2));"
                    "INSERT INTO {0} SELECT g, 'item ' || g, g FROM generate_series(1, 50) g",
                    name));
    create_topic(brokers, name, 2);
    create_topic(brokers, delay_topic, 2);

    IndexerProcess indexer(name, fmt::format(R"(
kafka: {{brokers: "{brokers}"}}
postgres: {{url: "{postgres}"}}
logging: {{level: debug}}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["{elasticsearch}"], index: {name}}}}}
    batch: {{max_messages: 100, max_wait: 100ms}}
delayers:
  - name: {name}-delayer
    topic: {delay_topic}
    target_topic: {name}
    delay: 6s
)",
                                             fmt::arg("brokers", brokers), fmt::arg("postgres", postgres),
                                             fmt::arg("name", name), fmt::arg("elasticsearch", elasticsearch),
                                             fmt::arg("delay_topic", delay_topic)));

    // The initial state, announced normally.
    TestProducer producer(brokers);
    for (int id = 1; id <= 50; ++id)
        producer.send(name, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    producer.flush();
    const SearchIndex index(elasticsearch, name);
    ASSERT_TRUE(wait_until_index_matches(database, name, index, seconds(90)).empty()) << indexer.output();

    // Updates and deletes whose instant messages were lost: only the delay
    // messages exist, half in KafkaSync's wrapper, half plain (Kafka timestamp).
    database.execute(
        fmt::format("UPDATE {0} SET name = 'healed ' || id, price = price + 1000 WHERE id <= 20;"
                    "DELETE FROM {0} WHERE id > 45",
                    name));
    const auto sent_at = std::chrono::steady_clock::now();
    for (int id : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 46, 47, 48}) {
        producer.send(
            delay_topic, std::to_string(id),
            fmt::format(R"({{"payload": {{"id": {}}}, "created_at": {}}})", id, std::time(nullptr)));
    }
    for (int id : {11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 49, 50}) {
        producer.send(delay_topic, std::to_string(id), fmt::format(R"({{"id": {}}})", id));
    }
    producer.flush();

    // Not before: well within the delay, the index still shows the old rows.
    std::this_thread::sleep_for(seconds(2));
    if (std::chrono::steady_clock::now() - sent_at < seconds(5)) {
        const auto early = index.get({"1", "11", "46", "49"});
        ASSERT_EQ(early.size(), 4U) << "a delayed change arrived before its delay";
        EXPECT_EQ(early.at("1").at("name"), "item 1");
        EXPECT_EQ(early.at("11").at("name"), "item 11");
    }

    // After the delay: exactly the database.
    const auto remaining = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(remaining.empty()) << summarize(remaining) << indexer.output();
    EXPECT_GE(std::chrono::steady_clock::now() - sent_at, seconds(6));

    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
    index.remove();
    database.execute("DROP TABLE " + name);
}

}  // namespace
}  // namespace indexer::testing
