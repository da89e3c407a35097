// Broken delay wrappers by the hundred among valid ones: the delayer never
// dies nor stalls, re-publishes every valid payload once it is due, puts every
// broken wrapper in its dead-letter topic exactly once, and commits to the end.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>

#include <ctime>
#include <map>
#include <set>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

TEST(PoisonDelayer, BrokenWrappersAreDeadLetteredOnceAndTheValidOnesRepublished) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");

    const std::string name = unique_name("poisondelay");
    const std::string delay_topic = name + "-delay";
    const std::string dead_letter_topic = name + "-delay-dead-letter";
    for (const std::string& topic : {name, delay_topic, dead_letter_topic}) create_topic(brokers, topic, 1);

    IndexerProcess indexer(name, fmt::format(R"(
http: {{listen: "{listen}"}}
kafka: {{brokers: "{brokers}"}}
postgres: {{url: "{postgres}"}}
delayers:
  - name: {name}-delayer
    topic: {delay_topic}
    target_topic: {name}
    dead_letter_topic: {dead_letter_topic}
    delay: 1s
)",
                                             fmt::arg("listen", free_listen_address()),
                                             fmt::arg("brokers", brokers), fmt::arg("postgres", postgres),
                                             fmt::arg("name", name), fmt::arg("delay_topic", delay_topic),
                                             fmt::arg("dead_letter_topic", dead_letter_topic)));

    const std::string now = std::to_string(std::time(nullptr));
    const std::vector<std::pair<std::string, std::string>> broken = {
        {"no-created-at", R"({"payload": {"id": 1}})"},
        {"no-payload", R"({"created_at": )" + now + "}"},
        {"created-at-string", R"({"payload": {"id": 1}, "created_at": "yesterday"})"},
        {"created-at-beyond-double", R"({"payload": {"id": 1}, "created_at": 1e400})"},
        {"created-at-beyond-2^63", R"({"payload": {"id": 1}, "created_at": 9223372036854775808})"},
        {"created-at-negative", R"({"payload": {"id": 1}, "created_at": -1})"},
        {"payload-deep", R"({"created_at": )" + now + R"(, "payload": )" + std::string(100'000, '[') +
                             std::string(100'000, ']') + "}"},
        {"payload-not-an-object", R"({"payload": 42, "created_at": )" + now + "}"},
    };
    constexpr int copies = 200;
    constexpr int valid = 400;
    std::set<std::int64_t> broken_offsets;
    std::set<std::string> expected_payloads;
    TestProducer producer(brokers);
    std::int64_t offset = 0;
    int id = 0;
    for (int copy = 0; copy < copies; ++copy) {
        for (const auto& [kind, value] : broken) {
            if (kind == "payload-deep" && copy >= 100) continue;
            producer.send(delay_topic, kind, value);
            broken_offsets.insert(offset++);
        }
        for (int i = 0; i < 2; ++i, ++offset) {
            ++id;
            // A deep payload object is valid: it is re-published byte for byte.
            const std::string payload =
                id % 100 == 0 ? fmt::format(R"({{"id": {}, "x": {}}})", id,
                                            std::string(100'000, '[') + std::string(100'000, ']'))
                              : fmt::format(R"({{"id": {},  "price": 1e400}})", id);
            expected_payloads.insert(payload);
            producer.send(delay_topic, std::to_string(id),
                          R"({"payload": )" + payload + R"(, "created_at": )" + now + "}");
        }
        if (copy % 20 == 0) producer.flush();
    }
    producer.flush();
    ASSERT_EQ(id, valid);
    const std::int64_t total = offset;

    const std::string group = name + "-delayer";
    EXPECT_EQ(wait_until_committed(brokers, group, delay_topic, total, seconds(60)), total)
        << indexer.output();

    const auto republished = read_topic(brokers, name, expected_payloads.size() + 1, seconds(20));
    std::multiset<std::string> payloads;
    for (const ReadMessage& message : republished) payloads.insert(message.value.value_or("(null)"));
    EXPECT_EQ(payloads.size(), expected_payloads.size());
    EXPECT_EQ(std::set<std::string>(payloads.begin(), payloads.end()), expected_payloads);

    const auto letters = read_topic(brokers, dead_letter_topic, broken_offsets.size() + 1, seconds(20));
    std::map<std::int64_t, int> seen;
    std::vector<std::string> problems;
    for (const ReadMessage& letter : letters) {
        const auto at = letter.headers.find("indexer.source.offset");
        if (at == letter.headers.end()) {
            problems.push_back("a dead letter without indexer.source.offset");
            continue;
        }
        const std::int64_t source_offset = std::stoll(at->second);
        ++seen[source_offset];
        if (!broken_offsets.contains(source_offset))
            problems.push_back(fmt::format("valid offset {} dead-lettered", source_offset));
        const auto reason = letter.headers.find("indexer.reason");
        if (reason == letter.headers.end() || reason->second.empty() ||
            !reason->second.starts_with("delay wrapper"))
            problems.push_back(fmt::format("offset {}: reason {}", source_offset,
                                           reason == letter.headers.end() ? "missing" : reason->second));
        const auto stage = letter.headers.find("indexer.stage");
        if (stage == letter.headers.end() || stage->second != "delay-wrapper")
            problems.push_back(fmt::format("offset {}: no delay-wrapper stage", source_offset));
    }
    for (const std::int64_t broken_offset : broken_offsets) {
        if (seen[broken_offset] != 1)
            problems.push_back(fmt::format("offset {}: {} dead letters", broken_offset, seen[broken_offset]));
    }
    EXPECT_EQ(letters.size(), broken_offsets.size());
    EXPECT_TRUE(problems.empty()) << summarize(problems, 40);

    EXPECT_TRUE(indexer.process().running()) << indexer.output();
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

}  // namespace
}  // namespace indexer::testing
