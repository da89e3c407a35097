// Reading an index back: the raw JSON reader that keeps `_source` byte for
// byte, the _mget mapping and the scroll pages, on answers shaped like those
// of Elasticsearch 7.10 and OpenSearch 2 and on hostile ones.
#include "indexer/sinks/elasticsearch/read_response.hpp"
#include "indexer/sinks/elasticsearch/raw_json.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace indexer::sinks::elasticsearch {
namespace {

using indexer::sdk::Status;
using ::testing::HasSubstr;

// Elasticsearch 7.10.2's answer to {"ids":["a","b"]}, `a` written with version 7.
constexpr std::string_view kMgetFoundAndMissing =
    R"({"docs":[{"_index":"p","_type":"_doc","_id":"a","_version":7,"_seq_no":0,"_primary_term":1,)"
    R"("found":true,"_source":{"n":  12.50, "z":1,"a":[1, 2]}},{"_index":"p","_type":"_doc","_id":"b","found":false}]})";

constexpr std::string_view kMgetIndexMissing =
    R"({"docs":[{"_index":"gone","_id":"a","error":{"root_cause":[{"type":"index_not_found_exception",)"
    R"("reason":"no such index [gone]"}],"type":"index_not_found_exception","reason":"no such index [gone]",)"
    R"("index":"gone"}}]})";

TEST(RawJsonReader, GivesEachValueAsTheBytesOfTheInput) {
    RawJsonReader reader(R"( {"a" : {"x": [1, -2.5e+3, "s\"}"]}, "b":true ,"c":null} )");
    std::string_view name;
    ASSERT_TRUE(reader.enter_object());
    ASSERT_TRUE(reader.next_member(name));
    EXPECT_EQ(name, "a");
    EXPECT_EQ(reader.value(), R"({"x": [1, -2.5e+3, "s\"}"]})");
    ASSERT_TRUE(reader.next_member(name));
    EXPECT_EQ(name, "b");
    EXPECT_EQ(raw_bool(reader.value()), true);
    ASSERT_TRUE(reader.next_member(name));
    EXPECT_EQ(reader.value(), "null");
    EXPECT_FALSE(reader.next_member(name));
    EXPECT_FALSE(reader.failed()) << reader.error();
    EXPECT_TRUE(reader.at_end());
}

TEST(RawJsonReader, RefusesMalformedTextAndSaysWhereWithoutEchoingIt) {
    for (const std::string_view text :
         {R"({"a":[1,]})", R"({"a":{"b"}})", R"({"a":[1}])", R"({"a":"unterminated)", R"({"a":tru})",
          R"({"a":01})", R"({"a":"\x"})", R"({"a":"\u12g4"})", "{\"a\":\"raw\ncontrol\"}", R"({"a":1,})",
          R"({"a":-})", R"({"a":1.})", R"({"a":1e})", "{\"a\":\"secret\0\"}"}) {
        RawJsonReader reader(text);
        reader.value();
        EXPECT_TRUE(reader.failed() || !reader.at_end()) << text;
        EXPECT_THAT(reader.error(), ::testing::Not(HasSubstr("secret"))) << text;
    }
    RawJsonReader reader(R"({"a":[1}])");
    reader.value();
    EXPECT_THAT(reader.error(), HasSubstr("at byte 7"));
}

TEST(RawJsonReader, SkipsDeepNestingWithoutRecursionAndReportsTheDepth) {
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    RawJsonReader reader(deep);
    EXPECT_EQ(reader.value().size(), deep.size());
    EXPECT_TRUE(reader.at_end());
    EXPECT_EQ(reader.deepest(), 100'000U);
    const std::string open_only(100'000, '[');
    RawJsonReader unbalanced(open_only);
    EXPECT_TRUE(unbalanced.value().empty());
    EXPECT_TRUE(unbalanced.failed());
}

TEST(RawJsonReader, UnsignedIntegersAreExactBelowTwoToThe64AndNothingElse) {
    EXPECT_EQ(raw_unsigned("0"), 0U);
    EXPECT_EQ(raw_unsigned("18446744073709551615"), UINT64_MAX);
    EXPECT_EQ(raw_unsigned("18446744073709551616"), std::nullopt);
    EXPECT_EQ(raw_unsigned("99999999999999999999999999"), std::nullopt);
    EXPECT_EQ(raw_unsigned("-1"), std::nullopt);
    EXPECT_EQ(raw_unsigned("1.0"), std::nullopt);
    EXPECT_EQ(raw_unsigned("1e3"), std::nullopt);
    EXPECT_EQ(raw_unsigned("007"), std::nullopt);
    EXPECT_EQ(raw_unsigned("\"7\""), std::nullopt);
}

TEST(MgetResponse, FoundDocumentsKeepTheirSourceByteForByteWithTheirVersion) {
    const MgetMapping mapping = map_mget_response(200, kMgetFoundAndMissing, 2);
    ASSERT_TRUE(mapping.failure.empty()) << mapping.failure;
    ASSERT_EQ(mapping.documents.size(), 2U);
    EXPECT_EQ(mapping.documents[0].status, Status::Ok);
    EXPECT_EQ(mapping.documents[0].document, R"({"n":  12.50, "z":1,"a":[1, 2]})");
    EXPECT_EQ(mapping.documents[0].version, 7U);
    EXPECT_EQ(mapping.documents[1].status, Status::NotFound);
    EXPECT_TRUE(mapping.documents[1].document.empty());
}

TEST(MgetResponse, AMissingIndexMeansEveryIdIsNotFound) {
    MgetMapping mapping = map_mget_response(200, kMgetIndexMissing, 1);
    ASSERT_EQ(mapping.documents.size(), 1U);
    EXPECT_EQ(mapping.documents[0].status, Status::NotFound);

    mapping = map_mget_response(
        404, R"({"error":{"type":"index_not_found_exception","reason":"no such index [x]"},"status":404})",
        3);
    EXPECT_TRUE(mapping.all_not_found);
}

TEST(MgetResponse, AnEntryWithAnotherErrorIsRetryWithTheServersReason) {
    const MgetMapping mapping = map_mget_response(
        200,
        R"({"docs":[{"_id":"a","error":{"type":"no_shard_available_action_exception","reason":"No shard available"}}]})",
        1);
    ASSERT_EQ(mapping.documents.size(), 1U);
    EXPECT_EQ(mapping.documents[0].status, Status::Retry);
    EXPECT_THAT(mapping.documents[0].message,
                HasSubstr("no_shard_available_action_exception: No shard available"));
}

TEST(MgetResponse, AWholeRequestFailureOrAWrongCountIsACallFailure) {
    EXPECT_THAT(
        map_mget_response(503, R"({"error":{"type":"cluster_block_exception","reason":"blocked"}})", 2)
            .failure,
        HasSubstr("HTTP 503: cluster_block_exception: blocked"));
    EXPECT_THAT(map_mget_response(401, "", 2).failure, HasSubstr("authentication failed"));
    EXPECT_THAT(map_mget_response(200, kMgetFoundAndMissing, 3).failure, HasSubstr("2 docs for 3 ids"));
    EXPECT_THAT(map_mget_response(200, R"({"nothing":[]})", 1).failure, HasSubstr("0 docs for 1 ids"));
    EXPECT_THAT(map_mget_response(200, R"({"docs":[{"found":true}]} trailing)", 1).failure,
                HasSubstr("not JSON"));
    EXPECT_THAT(map_mget_response(200, R"({"docs":[{"found":"yes"}]})", 1).documents.at(0).message,
                HasSubstr("without \"found\""));
}

TEST(MgetResponse, HostileBodiesAreFailuresNeverCrashes) {
    const std::string deep = R"({"docs":[{"found":true,"_source":)" + std::string(200'000, '[') +
                             std::string(200'000, ']') + "}]}";
    const MgetMapping nested = map_mget_response(200, deep, 1);
    ASSERT_EQ(nested.documents.size(), 1U);  // deep is valid JSON: kept as the bytes it is
    EXPECT_EQ(nested.documents[0].document.size(), 400'000U);

    const std::string nul_bytes("{\"docs\":[{\"found\":true,\"_source\":{\"a\":\"\0\"}}]}", 40);
    EXPECT_FALSE(map_mget_response(200, nul_bytes, 1).failure.empty());
    const std::string invalid_utf8 = "{\"docs\":[{\"found\":true,\"_source\":{\"a\":\"\xff\xfe\"}}]}";
    // Bytes are passed on as the server stored them; validating UTF-8 is the reader's business.
    EXPECT_TRUE(map_mget_response(200, invalid_utf8, 1).failure.empty());
    EXPECT_EQ(map_mget_response(200, R"({"docs":[{"found":true,"_version":99999999999999999999999}]})", 1)
                  .documents.at(0)
                  .version,
              0U);
    for (std::size_t cut = 0; cut < kMgetFoundAndMissing.size(); ++cut) {
        EXPECT_FALSE(map_mget_response(200, kMgetFoundAndMissing.substr(0, cut), 2).failure.empty()) << cut;
    }
}

TEST(ScrollResponse, APageGivesItsIdsAndTheScrollId) {
    const ScrollPage page =
        map_scroll_response(200, R"({"_scroll_id":"FGluY2x1ZGVf","timed_out":false,"_shards":{"failed":0},)"
                                 R"("hits":{"hits":[{"_id":"d1"},{"_id":"caf\u00e9 \"q\""}]}})");
    ASSERT_TRUE(page.failure.empty()) << page.failure;
    EXPECT_EQ(page.scroll_id, "FGluY2x1ZGVf");
    EXPECT_THAT(page.ids, ::testing::ElementsAre("d1", "caf\xc3\xa9 \"q\""));
}

TEST(ScrollResponse, TheLastPageHasNoHitsAndKeepsTheScrollIdToClear) {
    const ScrollPage page =
        map_scroll_response(200, R"({"_scroll_id":"abc","timed_out":false,"_shards":{"failed":0}})");
    EXPECT_TRUE(page.failure.empty());
    EXPECT_TRUE(page.ids.empty());
    EXPECT_EQ(page.scroll_id, "abc");
}

TEST(ScrollResponse, FailedShardsOrATimeoutMakeThePageAFailure) {
    ScrollPage page = map_scroll_response(
        200, R"({"_scroll_id":"abc","_shards":{"failed":1,"failures":[{"shard":0,"reason":)"
             R"({"type":"node_closed_exception","reason":"node closed"}}]},"hits":{"hits":[{"_id":"a"}]}})");
    EXPECT_THAT(page.failure, HasSubstr("1 shards failed"));
    EXPECT_THAT(page.failure, HasSubstr("node_closed_exception: node closed"));
    EXPECT_EQ(page.scroll_id, "abc");  // to clear it
    EXPECT_TRUE(page.ids.empty());
    page = map_scroll_response(200, R"({"_scroll_id":"abc","timed_out":true,"hits":{"hits":[]}})");
    EXPECT_THAT(page.failure, HasSubstr("timed out"));
}

TEST(ScrollResponse, AMissingIndexAndAnExpiredScrollAreToldApart) {
    ScrollPage page = map_scroll_response(
        404, R"({"error":{"type":"index_not_found_exception","reason":"no such index [x]"},"status":404})");
    EXPECT_TRUE(page.index_missing);
    page = map_scroll_response(
        404,
        R"({"error":{"root_cause":[{"type":"search_context_missing_exception","reason":"No search context found for id [1]"}],)"
        R"("type":"search_phase_execution_exception","reason":"all shards failed"},"status":404})");
    EXPECT_TRUE(page.context_missing);
    EXPECT_FALSE(page.index_missing);
    EXPECT_THAT(page.failure, HasSubstr("expired"));
}

TEST(ScrollResponse, HostileBodiesAreFailuresNeverCrashes) {
    EXPECT_THAT(map_scroll_response(200, std::string(100'000, '[') + std::string(100'000, ']')).failure,
                HasSubstr("nested deeper"));
    EXPECT_THAT(map_scroll_response(200, "<html>proxy</html>").failure, HasSubstr("not JSON"));
    EXPECT_THAT(map_scroll_response(200, R"({"hits":{"hits":[]}})").failure, HasSubstr("no _scroll_id"));
    EXPECT_THAT(map_scroll_response(200, R"({"_scroll_id":"a","hits":{"hits":[{"_id":7}]}})").failure,
                HasSubstr("without an _id"));
    EXPECT_THAT(map_scroll_response(200, R"({"_scroll_id":"a","hits":[]})").failure, HasSubstr("malformed"));
    EXPECT_FALSE(
        map_scroll_response(200, R"({"_scroll_id":"a","_shards":{"failed":1e400}})").failure.empty());
    EXPECT_THAT(map_scroll_response(200, R"({"_scroll_id":"a","_shards":{"failed":-1}})").failure,
                HasSubstr("shards failed"));
    EXPECT_THAT(map_scroll_response(502, "").failure, HasSubstr("HTTP 502"));
}

}  // namespace
}  // namespace indexer::sinks::elasticsearch
