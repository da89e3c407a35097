// A poison corpus mixed into valid traffic: hundreds of messages of every kind
// of bad input, each of which once crashed the process, stalled a partition or
// produced a dead letter the broker refused. The process never dies, every
// valid id is indexed, every bad message is in the dead-letter topic exactly
// once with a reason, and the committed offsets reach the end of the topic.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/kafka_client.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <optional>
#include <set>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

struct PoisonKind {
    std::string name;
    int copies = 0;
    // The message value of copy `i` (the key is "<name>-<i>" unless no_key).
    std::function<std::optional<std::string>(int)> value;
    std::string stage;  // indexer.stage expected on its dead letter
    bool no_key = false;
    bool value_left_out = false;  // too large to be copied whole into the dead letter
};

std::string nested(char open, char close, int levels, const std::string& inside = "") {
    return std::string(static_cast<std::size_t>(levels), open) + inside +
           std::string(static_cast<std::size_t>(levels), close);
}

std::vector<PoisonKind> poison_kinds() {
    const std::string deep = nested('[', ']', 100'000);
    const auto fixed = [](std::string value) { return [value](int) { return std::optional(value); }; };
    return {
        {"malformed", 200, fixed(R"({"id": 4)"), "parse"},
        {"not-json", 200, fixed("not json at all"), "parse"},
        {"beyond-double", 200, fixed(R"({"id": 1e400})"), "parse"},
        {"400-digits", 200, fixed(R"({"id": )" + std::string(400, '9') + "}"), "id-type"},
        {"beyond-64-bits", 200, fixed(R"({"id": 123456789012345678901234567890})"), "id-type"},
        {"bigint-overflow", 200, fixed(R"({"id": 9223372036854775808})"), "id-type"},
        {"text-for-bigint", 200, [](int i) { return std::optional(fmt::format(R"({{"id": "sku-{}"}})", i)); },
         "id-type"},
        {"escaped-nul-id", 200, fixed(R"({"id": "a\u0000b"})"), "id-type"},
        {"huge-numbers-no-id", 200,
         fixed(R"({"price": 1e400, "stock": -1e-400, "n": )" + std::string(400, '7') + "}"), "parse"},
        {"deep-id", 100, fixed(R"({"id": )" + deep + "}"), "parse"},
        {"deep-other-field-no-id", 100, fixed(R"({"tags": )" + nested('{', '}', 1, R"("a": )" + deep) + "}"),
         "parse"},
        {"deep-root", 100, fixed(deep), "parse"},
        {"unclosed-deep", 100, fixed(std::string(100'000, '[')), "parse"},
        {"nul-byte", 200, fixed(std::string("{\"id\": \"1\0\"}", 11)), "parse"},
        {"invalid-utf8", 200, fixed("{\"id\": \"\xff\xfe\"}"), "parse"},
        {"null-id", 200, fixed(R"({"id": null})"), "parse"},
        {"bool-id", 200, fixed(R"({"id": false})"), "parse"},
        {"float-id", 200, fixed(R"({"id": 2.5})"), "parse"},
        {"array-id", 200, fixed(R"({"id": [2]})"), "parse"},
        {"object-id", 200, fixed(R"({"id": {"id": 2}})"), "parse"},
        {"oversized-id", 50, fixed(R"({"id": ")" + std::string(100'000, 'x') + R"("})"), "parse"},
        {"empty-no-key", 200, fixed(""), "parse", true},
        {"trailing-garbage", 200, fixed(R"({"id": 3} trailing)"), "parse"},
        {"near-size-limit", 5, fixed(R"({"pad": ")" + std::string(999'600, 'p') + R"("})"), "parse", false,
         true},
    };
}

TEST(Poison, HundredsOfEachKindOfBadMessageAreDeadLetteredOnceWhileEveryValidIdIsIndexed) {
    INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    INDEXER_REQUIRE_SERVICE(elasticsearch, "INDEXER_TEST_ELASTICSEARCH");

    const std::string name = unique_name("poison");
    const Database database(postgres);
    const SearchIndex index(elasticsearch, name);
    const Cleanup cleanup([&] {
        index.remove();
        database.execute("DROP TABLE IF EXISTS " + name);
    });
    constexpr int valid_ids = 400;
    database.execute(
        fmt::format("CREATE TABLE {0} (id bigint PRIMARY KEY, name text NOT NULL);"
                    "INSERT INTO {0} SELECT g, 'row ' || g FROM generate_series(1, {1}) g",
                    name, valid_ids));
    // One partition each: a message's offset is its place in the sending order.
    create_topic(brokers, name, 1);
    create_topic(brokers, name + "-dead-letter", 1);

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
    batch: {{max_messages: 500, max_wait: 100ms}}
)",
                          fmt::arg("brokers", brokers), fmt::arg("listen", free_listen_address()),
                          fmt::arg("postgres", postgres), fmt::arg("name", name),
                          fmt::arg("elasticsearch", elasticsearch)));

    // Round-robin over the kinds, a valid id between every few bad messages;
    // some valid messages carry deep nesting and huge numbers in other fields.
    const std::vector<PoisonKind> kinds = poison_kinds();
    std::map<std::int64_t, const PoisonKind*> bad_at;  // offset -> kind
    TestProducer producer(brokers);
    std::int64_t offset = 0;
    int next_id = 1;
    const std::string deep_extra = nested('[', ']', 100'000);
    for (int copy = 0; copy < 200; ++copy) {
        for (const PoisonKind& kind : kinds) {
            if (copy >= kind.copies) continue;
            producer.send(name,
                          kind.no_key ? std::nullopt : std::optional(fmt::format("{}-{}", kind.name, copy)),
                          kind.value(copy));
            bad_at.emplace(offset++, &kind);
            if (next_id <= valid_ids && copy % 3 == 0) {
                const int id = next_id++;
                std::string value = fmt::format(R"({{"id": {}}})", id);
                if (id % 50 == 0) value = fmt::format(R"({{"extra": {}, "id": {}}})", deep_extra, id);
                if (id % 50 == 1)
                    value = fmt::format(R"({{"id": {}, "big": 1e400, "n": {}}})", id, std::string(400, '1'));
                producer.send(name, std::to_string(id), value);
                ++offset;
            }
        }
        if (copy % 20 == 0) producer.flush();
    }
    for (; next_id <= valid_ids; ++next_id, ++offset)
        producer.send(name, std::to_string(next_id), fmt::format(R"({{"id": {}}})", next_id));
    producer.flush();
    const std::int64_t total = offset;

    auto found = wait_until_index_matches(database, name, index, seconds(90));
    EXPECT_TRUE(found.empty()) << summarize(found) << "\n" << indexer.output();
    EXPECT_EQ(wait_until_committed(brokers, name, name, total, seconds(60)), total) << indexer.output();

    // Every bad message exactly once (asking for one more shows there is none).
    const auto letters = read_topic(brokers, name + "-dead-letter", bad_at.size() + 1, seconds(20));
    std::map<std::int64_t, int> seen;
    std::vector<std::string> problems;
    for (const ReadMessage& letter : letters) {
        const auto header = [&letter](const std::string& key) {
            const auto found_header = letter.headers.find(key);
            return found_header == letter.headers.end() ? std::string() : found_header->second;
        };
        const std::int64_t source_offset = std::stoll(header("indexer.source.offset"));
        ++seen[source_offset];
        const auto kind = bad_at.find(source_offset);
        if (kind == bad_at.end()) {
            problems.push_back(fmt::format("offset {} is a valid message but was dead-lettered: {}",
                                           source_offset, header("indexer.reason")));
            continue;
        }
        if (header("indexer.stage") != kind->second->stage)
            problems.push_back(fmt::format("{} at {}: stage {}, expected {} ({})", kind->second->name,
                                           source_offset, header("indexer.stage"), kind->second->stage,
                                           header("indexer.reason")));
        if (header("indexer.reason").empty() || header("indexer.reason").size() > 1200)
            problems.push_back(fmt::format("{} at {}: reason of {} bytes", kind->second->name, source_offset,
                                           header("indexer.reason").size()));
        if (kind->second->value_left_out != letter.headers.contains("indexer.value.truncated"))
            problems.push_back(fmt::format("{} at {}: indexer.value.truncated {}", kind->second->name,
                                           source_offset, header("indexer.value.truncated")));
    }
    for (const auto& [bad_offset, kind] : bad_at) {
        if (seen[bad_offset] != 1)
            problems.push_back(
                fmt::format("{} at {}: {} dead letters", kind->name, bad_offset, seen[bad_offset]));
    }
    EXPECT_EQ(letters.size(), bad_at.size());
    EXPECT_TRUE(problems.empty()) << summarize(problems, 40);

    EXPECT_TRUE(indexer.process().running()) << indexer.output();
    EXPECT_EQ(indexer.stop(), 0) << indexer.output();
}

}  // namespace
}  // namespace indexer::testing
