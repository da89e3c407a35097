#include "indexer/sinks/elasticsearch/bulk_request.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "unit/sinks/elasticsearch/test_ops.hpp"

namespace indexer::sinks::elasticsearch {
namespace {

using testing::TestOps;

std::vector<std::string> lines_of(const std::string& body) {
    std::vector<std::string> lines;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string body_of(const TestOps& ops, std::string_view index = "products") {
    std::string body;
    for (const auto& op : ops.views()) append_op(body, op, index);
    return body;
}

TEST(BulkRequest, UpsertBecomesAnIndexActionFollowedByTheFullDocument) {
    TestOps ops;
    ops.upsert("42", R"({"name":"chair","price":12.5,"tags":["a","b"]})");
    EXPECT_EQ(body_of(ops),
              "{\"index\":{\"_index\":\"products\",\"_id\":\"42\"}}\n"
              "{\"name\":\"chair\",\"price\":12.5,\"tags\":[\"a\",\"b\"]}\n");
}

TEST(BulkRequest, DeleteBecomesADeleteActionWithoutDocumentLine) {
    TestOps ops;
    ops.remove("42");
    EXPECT_EQ(body_of(ops), "{\"delete\":{\"_index\":\"products\",\"_id\":\"42\"}}\n");
}

TEST(BulkRequest, VersionedIndexAndDeleteActionsUseExternalGteVersioning) {
    TestOps ops;
    ops.upsert("1", "{}", 17).remove("2", 9223372036854775807ULL);
    EXPECT_EQ(body_of(ops),
              "{\"index\":{\"_index\":\"products\",\"_id\":\"1\",\"version\":17,\"version_type\":\"external_"
              "gte\"}}\n"
              "{}\n"
              "{\"delete\":{\"_index\":\"products\",\"_id\":\"2\",\"version\":9223372036854775807,"
              "\"version_type\":\"external_gte\"}}\n");
}

TEST(BulkRequest, TargetOfAnOpOverridesTheConfiguredIndex) {
    TestOps ops;
    ops.upsert("1", "{}", 0, "archive-2024").remove("2", 0, "archive-2024").remove("3");
    const auto lines = lines_of(body_of(ops));
    ASSERT_EQ(lines.size(), 4U);
    EXPECT_EQ(nlohmann::json::parse(lines[0])["index"]["_index"], "archive-2024");
    EXPECT_EQ(nlohmann::json::parse(lines[2])["delete"]["_index"], "archive-2024");
    EXPECT_EQ(nlohmann::json::parse(lines[3])["delete"]["_index"], "products");
}

TEST(BulkRequest, IdsWithQuotesBackslashesAndControlCharactersAreEscaped) {
    const std::string id =
        "a\"b\\c\nd\te\x01"
        "f/g";
    TestOps ops;
    ops.remove(id);
    const std::string body = body_of(ops);
    EXPECT_NE(body.find(R"("_id":"a\"b\\c\nd\te\u0001f/g")"), std::string::npos) << body;
    const auto lines = lines_of(body);
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_EQ(nlohmann::json::parse(lines[0])["delete"]["_id"], id);
}

TEST(BulkRequest, UnicodeIdsTravelAsUtf8) {
    const std::string id = "caf\xC3\xA9-\xE2\x82\xAC-\xF0\x9F\x98\x80-\xE4\xB8\xAD";  // café-€-😀-中
    TestOps ops;
    ops.upsert(id, R"({"name":"\u00e9t\u00e9"})");
    const auto lines = lines_of(body_of(ops));
    ASSERT_EQ(lines.size(), 2U);
    EXPECT_NE(lines[0].find(id), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(lines[0])["index"]["_id"], id);
}

TEST(BulkRequest, PrettyPrintedDocumentIsSentOnOneLine) {
    TestOps ops;
    ops.upsert("1", "{\r\n  \"a\": 1,\n  \"b\": \"x\\ny\"\n}");
    const auto lines = lines_of(body_of(ops));
    ASSERT_EQ(lines.size(), 2U);
    EXPECT_EQ(nlohmann::json::parse(lines[1]), nlohmann::json::parse(R"({"a":1,"b":"x\ny"})"));
}

TEST(BulkRequest, OpsThatWouldFailAWholeRequestAreRefusedLocally) {
    TestOps ops;
    ops.upsert("", "{}")                            // 0 empty id
        .upsert(std::string(513, 'x'), "{}")        // 1 too long
        .upsert(std::string(512, 'x'), "{}")        // 2 fine
        .remove("bad\xC3(utf8")                     // 3 invalid UTF-8
        .upsert("5", "")                            // 4 empty document
        .upsert("6", "[1,2]")                       // 5 not an object
        .upsert("7", "{}", 9223372036854775808ULL)  // 6 version out of range
        .remove("8", 0, "")                         // 7 fine (default index)
        .upsert("9", "  {\"a\":1}");                // 8 fine
    const auto views = ops.views();
    std::vector<std::string> reasons;
    for (const auto& op : views) reasons.push_back(check_op(op, "products").value_or("OK"));
    EXPECT_EQ(reasons[0], "the id is empty");
    EXPECT_EQ(reasons[1], "the id is 513 bytes long; Elasticsearch allows at most 512");
    EXPECT_EQ(reasons[2], "OK");
    EXPECT_EQ(reasons[3], "the id is not valid UTF-8");
    EXPECT_EQ(reasons[4], "the document is empty");
    EXPECT_EQ(reasons[5], "the document is not a JSON object");
    EXPECT_EQ(reasons[6],
              "version 9223372036854775808 is beyond Elasticsearch's range (a signed 64-bit integer)");
    EXPECT_EQ(reasons[7], "OK");
    EXPECT_EQ(reasons[8], "OK");
    EXPECT_EQ(check_op(views[7], ""), "no index: the op has no target and config.index is not set");
}

TEST(BulkRequest, Utf8ValidationRefusesOverlongFormsAndSurrogates) {
    std::string out;
    EXPECT_FALSE(append_json_string(out, "\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(append_json_string(out, "\xED\xA0\x80"));      // surrogate U+D800
    EXPECT_FALSE(append_json_string(out, "\xF4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(append_json_string(out, "\xE2\x82"));          // truncated
    EXPECT_TRUE(out.empty());
    EXPECT_TRUE(append_json_string(out, "\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(BulkPlan, RequestsAreCappedByOpCountAndKeepTheOrderOfOps) {
    TestOps ops;
    for (int i = 0; i < 25; ++i) ops.upsert(std::to_string(i), "{}");
    const auto views = ops.views();
    const BulkPlan plan = plan_bulk(views, "products", RequestLimits{1 << 20, 10});
    ASSERT_EQ(plan.requests.size(), 3U);
    EXPECT_EQ(plan.requests[0].ops.size(), 10U);
    EXPECT_EQ(plan.requests[1].ops.size(), 10U);
    EXPECT_EQ(plan.requests[2].ops.size(), 5U);
    std::size_t expected = 0;
    for (const auto& request : plan.requests) {
        for (std::size_t op : request.ops) EXPECT_EQ(op, expected++);
        EXPECT_EQ(request.body, build_body(views, request.ops, "products"));
        EXPECT_TRUE(request.after.empty());
    }
}

TEST(BulkPlan, RequestsAreCappedByBytesAndFilledAsFarAsTheCapAllows) {
    TestOps ops;
    for (int i = 0; i < 40; ++i)
        ops.upsert(std::to_string(1000 + i), R"({"text":")" + std::string(60, 'x') + "\"}");
    const auto views = ops.views();
    std::string one;
    append_op(one, views[0], "products");
    const std::size_t op_bytes = one.size();  // every op has the same size
    const RequestLimits limits{op_bytes * 7 + op_bytes / 2, 1000};
    const BulkPlan plan = plan_bulk(views, "products", limits);
    ASSERT_EQ(plan.requests.size(), 6U);  // 7+7+7+7+7+5
    for (const auto& request : plan.requests) EXPECT_LE(request.body.size(), limits.max_bytes);
    EXPECT_EQ(plan.requests[0].ops.size(), 7U);
    EXPECT_EQ(plan.requests[5].ops.size(), 5U);
}

TEST(BulkPlan, AnOpLargerThanTheByteCapTravelsAlone) {
    TestOps ops;
    ops.upsert("small-1", "{}")
        .upsert("big", R"({"blob":")" + std::string(5000, 'b') + "\"}")
        .upsert("small-2", "{}");
    const auto views = ops.views();
    const BulkPlan plan = plan_bulk(views, "products", RequestLimits{1024, 1000});
    ASSERT_EQ(plan.requests.size(), 3U);
    EXPECT_EQ(plan.requests[1].ops, std::vector<std::size_t>{1});
    EXPECT_GT(plan.requests[1].body.size(), 5000U);
}

TEST(BulkPlan, RefusedOpsStayOutOfRequestsAndAreReportedWithTheirReason) {
    TestOps ops;
    ops.upsert("1", "{}").upsert("", "{}").remove("3");
    const auto views = ops.views();
    const BulkPlan plan = plan_bulk(views, "products", RequestLimits{});
    ASSERT_EQ(plan.requests.size(), 1U);
    EXPECT_EQ(plan.requests[0].ops, (std::vector<std::size_t>{0, 2}));
    ASSERT_EQ(plan.rejected.size(), 1U);
    EXPECT_EQ(plan.rejected[0].op, 1U);
    EXPECT_EQ(plan.rejected[0].reason, "the id is empty");
}

TEST(BulkPlan, ARequestHoldingADocumentOfAnEarlierRequestWaitsForIt) {
    TestOps ops;
    ops.upsert("a", "{}").upsert("b", "{}").remove("a").upsert("b", "{}", 0, "other").upsert("c", "{}");
    const auto views = ops.views();
    const BulkPlan plan = plan_bulk(views, "products", RequestLimits{1 << 20, 2});
    ASSERT_EQ(plan.requests.size(), 3U);  // [a b] [a b@other] [c]
    EXPECT_TRUE(plan.requests[0].after.empty());
    EXPECT_EQ(plan.requests[1].after, std::vector<std::size_t>{0});  // "a" again; b@other is another document
    EXPECT_TRUE(plan.requests[2].after.empty());
    EXPECT_EQ(plan.previous_same_document[2], 0U);
    EXPECT_EQ(plan.previous_same_document[3], BulkPlan::kNone);
    EXPECT_EQ(plan.previous_same_document[4], BulkPlan::kNone);
}

TEST(BulkPlan, SplitHalvesShareDocumentsOnlyWhenAnIdRepeats) {
    TestOps ops;
    ops.upsert("a", "{}").upsert("b", "{}").upsert("c", "{}").remove("a");
    const auto views = ops.views();
    const std::vector<std::size_t> first{0, 1};
    const std::vector<std::size_t> second{2, 3};
    const std::vector<std::size_t> third{2};
    EXPECT_TRUE(share_documents(views, first, second, "products"));
    EXPECT_FALSE(share_documents(views, first, third, "products"));
}

}  // namespace
}  // namespace indexer::sinks::elasticsearch
