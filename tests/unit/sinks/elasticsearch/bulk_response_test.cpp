// Maps responses captured from real Elasticsearch and OpenSearch nodes
// (tests/fixtures/elasticsearch/README.md) onto the ops of their requests.
#include "indexer/sinks/elasticsearch/bulk_response.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace indexer::sinks::elasticsearch {
namespace {

using indexer::sdk::Status;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kFixtures = std::string(INDEXER_SOURCE_DIR) + "/tests/fixtures/elasticsearch/";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "missing fixture " << path;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Captured {
    long status = 0;
    std::string body;
};

Captured read_http(const std::string& path) {
    const std::string text = read_file(path);
    Captured captured;
    const auto newline = text.find('\n');
    captured.status = std::stol(text.substr(5, newline - 5));  // "HTTP 200"
    captured.body = text.substr(newline + 1);
    while (!captured.body.empty() && captured.body.back() == '\n') captured.body.pop_back();
    return captured;
}

// The ops of a captured request, read back from its action lines.
std::vector<ItemContext> contexts_of(const std::string& ndjson_path) {
    std::vector<ItemContext> contexts;
    std::istringstream in(read_file(ndjson_path));
    for (std::string line; std::getline(in, line);) {
        const auto action = nlohmann::json::parse(line);
        const bool is_delete = action.contains("delete");
        const auto& meta = is_delete ? action["delete"] : action["index"];
        contexts.push_back(ItemContext{is_delete, meta.contains("version")});
        if (!is_delete) std::getline(in, line);  // the document
    }
    return contexts;
}

class CapturedResponse : public ::testing::TestWithParam<std::string> {
protected:
    ResponseMapping map(const std::string& name) const {
        return map_with(name, contexts_of(dir() + name + ".request.ndjson"));
    }
    ResponseMapping map_with(const std::string& name, const std::vector<ItemContext>& contexts) const {
        const Captured captured = read_http(dir() + name + ".http");
        return map_bulk_response(captured.status, captured.body, contexts);
    }
    std::string dir() const { return kFixtures + GetParam() + "/"; }
};

std::vector<std::pair<Status, int>> statuses(const ResponseMapping& mapping) {
    std::vector<std::pair<Status, int>> out;
    for (const auto& item : mapping.items) out.emplace_back(item.status, item.native_code);
    return out;
}

TEST_P(CapturedResponse, SuccessfulItemsAreOkWithTheirHttpStatus) {
    const ResponseMapping mapping = map("bulk-all-ok");
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    EXPECT_EQ(statuses(mapping),
              (std::vector<std::pair<Status, int>>{
                  {Status::Ok, 201}, {Status::Ok, 200}, {Status::Ok, 201}, {Status::Ok, 200}}));
    for (const auto& item : mapping.items) EXPECT_EQ(item.message, "");
}

TEST_P(CapturedResponse, MappingErrorsAreRejectedWithTheServersReasonAndMissingDeletesAreOk) {
    const ResponseMapping mapping = map("bulk-mixed");
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    EXPECT_EQ(statuses(mapping), (std::vector<std::pair<Status, int>>{{Status::Ok, 201},
                                                                      {Status::Reject, 400},
                                                                      {Status::Ok, 404},
                                                                      {Status::Reject, 400},
                                                                      {Status::Reject, 400},
                                                                      {Status::Ok, 200}}));
    EXPECT_EQ(
        mapping.items[1].message,
        "HTTP 400: mapper_parsing_exception: failed to parse field [n] of type [integer] in document with id "
        "'11'. Preview of field's value: 'not a number' (caused by: number_format_exception: For input "
        "string: \"not a number\")");
    EXPECT_EQ(
        mapping.items[3].message,
        "HTTP 400: invalid_index_name_exception: Invalid index name [Not-Lower-Case], must be lowercase");
    EXPECT_THAT(mapping.items[4].message, StartsWith("HTTP 400: mapper_parsing_exception: failed to parse"));
}

TEST_P(CapturedResponse, TheFullResponseMapsLikeTheFilteredOne) {
    const ResponseMapping filtered = map("bulk-mixed");
    const ResponseMapping full = map("bulk-mixed-unfiltered");
    ASSERT_EQ(full.action, ResponseAction::PerItem);
    EXPECT_EQ(statuses(full), statuses(filtered));
    for (std::size_t i = 0; i < full.items.size(); ++i)
        EXPECT_EQ(full.items[i].message, filtered.items[i].message);
}

TEST_P(CapturedResponse, VersionConflictsOfVersionedOpsAreOkBecauseANewerVersionIsStored) {
    const ResponseMapping mapping = map("bulk-versions");
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    EXPECT_EQ(statuses(mapping), (std::vector<std::pair<Status, int>>{{Status::Ok, 201},
                                                                      {Status::Ok, 409},
                                                                      {Status::Ok, 409},
                                                                      {Status::Ok, 200},
                                                                      {Status::Ok, 200},
                                                                      {Status::Ok, 404}}));
    EXPECT_THAT(
        mapping.items[1].message,
        StartsWith("a newer version is already stored (version_conflict_engine_exception: [v]: version "
                   "conflict, current version [5] is higher than the one provided [3]"));
}

TEST_P(CapturedResponse, AVersionConflictWithoutAVersionOnTheOpIsRejected) {
    std::vector<ItemContext> unversioned = contexts_of(dir() + "bulk-versions.request.ndjson");
    for (auto& context : unversioned) context.external_version = false;
    const ResponseMapping mapping = map_with("bulk-versions", unversioned);
    EXPECT_EQ(mapping.items[1].status, Status::Reject);
    EXPECT_EQ(mapping.items[1].native_code, 409);
}

TEST_P(CapturedResponse, UnavailableShardsRetryExactlyThoseItems) {
    const ResponseMapping mapping = map("bulk-unavailable-shards");
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    EXPECT_EQ(statuses(mapping),
              (std::vector<std::pair<Status, int>>{{Status::Retry, 503}, {Status::Retry, 503}}));
    EXPECT_THAT(mapping.items[0].message, StartsWith("HTTP 503: unavailable_shards_exception: "));
}

TEST_P(CapturedResponse, ItemsRefusedWith429AreRetried) {
    const ResponseMapping mapping = map("bulk-blocked-index");
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    EXPECT_EQ(statuses(mapping), (std::vector<std::pair<Status, int>>{{Status::Retry, 429}}));
    EXPECT_THAT(mapping.items[0].message, HasSubstr("cluster_block_exception"));
}

// Sink-wide conditions: every document would be refused alike, so each op is
// retried (the pipeline pauses) instead of dead-lettered.
TEST_P(CapturedResponse, AWriteBlockedIndexRetriesEveryItemAndSaysHowToLiftIt) {
    const ResponseMapping mapping = map("bulk-index-write-block");
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    EXPECT_EQ(statuses(mapping),
              (std::vector<std::pair<Status, int>>{{Status::Retry, 403}, {Status::Retry, 403}}));
    EXPECT_THAT(mapping.items[0].message,
                StartsWith("HTTP 403: cluster_block_exception: index [fixture_capture_"));
    EXPECT_THAT(mapping.items[0].message,
                HasSubstr("(the index refuses writes (a block: index.blocks.write"));
}

TEST_P(CapturedResponse, AClosedIndexRetriesUpsertsAndDeletes) {
    const ResponseMapping mapping = map("bulk-index-closed");
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    EXPECT_EQ(statuses(mapping),
              (std::vector<std::pair<Status, int>>{{Status::Retry, 400}, {Status::Retry, 400}}));
    EXPECT_EQ(mapping.items[1].message,
              "HTTP 400: index_closed_exception: closed (the index is closed; retried until it is opened)");
}

TEST_P(CapturedResponse, AMissingIndexThatIsNotCreatedRetriesUpsertsWhileDeletesAreDone) {
    const ResponseMapping mapping = map("bulk-index-missing");
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    // The document of a delete is not there either way: nothing to wait for.
    EXPECT_EQ(statuses(mapping),
              (std::vector<std::pair<Status, int>>{{Status::Retry, 404}, {Status::Ok, 404}}));
    EXPECT_THAT(mapping.items[0].message, StartsWith("HTTP 404: index_not_found_exception: no such index ["));
    EXPECT_THAT(mapping.items[0].message, HasSubstr("action.auto_create_index"));
}

TEST_P(CapturedResponse, AnAliasWithoutAWriteIndexRetriesEveryItem) {
    const ResponseMapping mapping = map("bulk-alias-without-write-index");
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    EXPECT_EQ(statuses(mapping),
              (std::vector<std::pair<Status, int>>{{Status::Retry, 400}, {Status::Retry, 400}}));
    EXPECT_THAT(mapping.items[0].message, HasSubstr("no write index is defined for alias [fixture_capture_"));
    EXPECT_THAT(mapping.items[0].message, HasSubstr("(the alias has no write index;"));
}

TEST_P(CapturedResponse, AWholeRequestRefusedWith400IsSplitUntilTheOpThatCausesItIsAlone) {
    EXPECT_EQ(map("whole-request-400").action, ResponseAction::Split);
    const ResponseMapping alone = map_with("whole-request-400", {ItemContext{}});
    ASSERT_EQ(alone.action, ResponseAction::AllOps);
    EXPECT_EQ(alone.all.status, Status::Reject);
    EXPECT_EQ(alone.all.native_code, 400);
    EXPECT_EQ(alone.all.message,
              "HTTP 400: illegal_argument_exception: Action/metadata line [3] contains an unknown parameter "
              "[_idx]");
}

TEST_P(CapturedResponse, ARequestTooLargeIsSplitAndASingleOpTooLargeIsRejected) {
    EXPECT_EQ(map_with("whole-request-413", {ItemContext{}, ItemContext{}}).action, ResponseAction::Split);
    const ResponseMapping alone = map("whole-request-413");
    ASSERT_EQ(alone.action, ResponseAction::AllOps);
    EXPECT_EQ(alone.all.status, Status::Reject);
    EXPECT_EQ(alone.all.native_code, 413);
}

TEST_P(CapturedResponse, TheReasonOfAnAlreadyExistingIndexIsReadable) {
    const Captured captured = read_http(dir() + "create-index-exists.http");
    EXPECT_EQ(captured.status, 400);
    EXPECT_THAT(describe_error(captured.body),
                StartsWith("resource_already_exists_exception: index [fixture_capture_"));
}

INSTANTIATE_TEST_SUITE_P(ElasticsearchAndOpenSearch, CapturedResponse,
                         ::testing::Values("elasticsearch-7.10.2", "opensearch-2.19.1"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                             return param_info.param.substr(0, param_info.param.find('-'));
                         });

TEST(BulkResponse, AWholeRequestRefusedWith429Or5xxRetriesEveryOpOfThatRequest) {
    const std::vector<ItemContext> three(3);
    for (const char* name : {"whole-request-429", "whole-request-503"}) {
        const Captured captured = read_http(kFixtures + "constructed/" + name + ".http");
        const ResponseMapping mapping = map_bulk_response(captured.status, captured.body, three);
        ASSERT_EQ(mapping.action, ResponseAction::AllOps) << name;
        EXPECT_EQ(mapping.all.status, Status::Retry) << name;
        EXPECT_EQ(mapping.all.native_code, captured.status) << name;
    }
    const Captured overloaded = read_http(kFixtures + "constructed/whole-request-429.http");
    EXPECT_THAT(
        map_bulk_response(429, overloaded.body, three).all.message,
        StartsWith(
            "HTTP 429: es_rejected_execution_exception: rejected execution of coordinating operation"));
}

ResponseMapping map_item_error(const std::string& error, bool is_delete = false) {
    const std::vector<ItemContext> one{ItemContext{is_delete, false}};
    return map_bulk_response(
        200, R"({"errors":true,"items":[{"index":{"status":400,"error":)" + error + "}}]}", one);
}

TEST(BulkResponse, AnAliasOnSeveralIndicesOfOlderServersRetries) {
    // Elasticsearch 6 and OpenSearch 1 word it so (and "indices" in some versions).
    for (const char* reason : {"Alias [products] has more than one index associated with it [[p1, p2]], "
                               "can't execute a single index op",
                               "Alias [products] has more than one indices associated with it [[p1, p2]], "
                               "can't execute a single index "
                               "op"}) {
        const ResponseMapping mapping = map_item_error(R"({"type":"illegal_argument_exception","reason":")" +
                                                       std::string(reason) + R"("})");
        ASSERT_EQ(mapping.action, ResponseAction::PerItem);
        EXPECT_EQ(mapping.items[0].status, Status::Retry) << reason;
        EXPECT_THAT(mapping.items[0].message, HasSubstr("none is its write index")) << reason;
    }
}

TEST(BulkResponse, AMissingPrivilegeOnTheIndexRetries) {
    const ResponseMapping mapping = map_item_error(
        R"({"type":"security_exception","reason":"action [indices:data/write/bulk[s]] is unauthorized for user [w]"})");
    EXPECT_EQ(mapping.items[0].status, Status::Retry);
}

TEST(BulkResponse, AConditionNamedByTheCauseRetriesToo) {
    const ResponseMapping mapping = map_item_error(
        R"({"type":"remote_transport_exception","reason":"[node][indices:data/write/bulk[s]]",)"
        R"("caused_by":{"type":"index_closed_exception","reason":"closed"}})");
    EXPECT_EQ(mapping.items[0].status, Status::Retry);
}

// These say something about the document (or about the mapping, which the
// engine's guard against many rejects of one reason catches): REJECT.
TEST(BulkResponse, MappingConflictsAndOtherIllegalArgumentsStayRejected) {
    for (
        const char* error : {
            R"({"type":"document_parsing_exception","reason":"[1:9] failed to parse field [n] of type [long] in document with id '4'. Preview of field's value: 'abc'"})",
            R"({"type":"illegal_argument_exception","reason":"mapper [n] cannot be changed from type [long] to [text]"})",
            R"({"type":"strict_dynamic_mapping_exception","reason":"mapping set to strict, dynamic introduction of [m] within [_doc] is not allowed"})",
            R"({"type":"illegal_argument_exception","reason":"Limit of total fields [1000] has been exceeded"})",
            R"({"type":"illegal_argument_exception","reason":"Document contains at least one immense term in field=\"t\""})",
        }) {
        const ResponseMapping mapping = map_item_error(error);
        ASSERT_EQ(mapping.action, ResponseAction::PerItem) << error;
        EXPECT_EQ(mapping.items[0].status, Status::Reject) << error;
    }
}

TEST(BulkResponse, AWholeRequest400FromAProxyIsRetriedWithoutSplitting) {
    const Captured captured = read_http(kFixtures + "constructed/whole-request-400-proxy.http");
    for (std::size_t ops : {1, 2, 100}) {
        const ResponseMapping mapping =
            map_bulk_response(captured.status, captured.body, std::vector<ItemContext>(ops));
        ASSERT_EQ(mapping.action, ResponseAction::AllOps) << ops;
        EXPECT_EQ(mapping.all.status, Status::Retry) << ops;
        EXPECT_EQ(mapping.all.native_code, 400);
        EXPECT_THAT(
            mapping.all.message,
            StartsWith("HTTP 400 that is not an Elasticsearch answer (a proxy or gateway in between?): "
                       "<html>"));
    }
    EXPECT_EQ(map_bulk_response(400, "", std::vector<ItemContext>(3)).all.status, Status::Retry);
    EXPECT_EQ(map_bulk_response(400, R"({"message":"bad request"})", std::vector<ItemContext>(3)).all.status,
              Status::Retry);
}

TEST(BulkResponse, AWholeRequest400NamingTheIndexIsRetriedWithoutSplitting) {
    const ResponseMapping mapping = map_bulk_response(
        400, R"({"error":{"type":"index_closed_exception","reason":"closed","index":"p"},"status":400})",
        std::vector<ItemContext>(4));
    ASSERT_EQ(mapping.action, ResponseAction::AllOps);
    EXPECT_EQ(mapping.all.status, Status::Retry);
    EXPECT_EQ(mapping.all.message,
              "HTTP 400: index_closed_exception: closed (the index is closed; retried until it is opened)");
}

TEST(BulkResponse, AWholeRequestBlockedByTheClusterSaysSoInsteadOfBlamingTheCredentials) {
    const ResponseMapping mapping = map_bulk_response(
        403,
        R"({"error":{"type":"cluster_block_exception","reason":"blocked by: [FORBIDDEN/6/cluster read-only (api)];"},"status":403})",
        std::vector<ItemContext>(2));
    EXPECT_EQ(mapping.all.status, Status::Retry);
    EXPECT_THAT(mapping.all.message, StartsWith("HTTP 403 (the index refuses writes"));
    EXPECT_THAT(mapping.all.message, Not(HasSubstr("credentials")));
}

TEST(BulkResponse, FailedAuthenticationRetriesWithAHint) {
    const Captured captured = read_http(kFixtures + "constructed/whole-request-401.http");
    const ResponseMapping mapping =
        map_bulk_response(captured.status, captured.body, std::vector<ItemContext>(2));
    ASSERT_EQ(mapping.action, ResponseAction::AllOps);
    EXPECT_EQ(mapping.all.status, Status::Retry);
    EXPECT_THAT(mapping.all.message,
                StartsWith("HTTP 401 (authentication failed: check config.auth): security_exception"));
}

TEST(BulkResponse, AnAnswerThatDoesNotMatchTheRequestRetriesEveryOp) {
    const std::vector<ItemContext> two(2);
    const ResponseMapping short_answer =
        map_bulk_response(200, R"({"errors":false,"items":[{"index":{"status":201}}]})", two);
    ASSERT_EQ(short_answer.action, ResponseAction::AllOps);
    EXPECT_EQ(short_answer.all.status, Status::Retry);
    EXPECT_EQ(short_answer.all.message, "the bulk response has 1 items for 2 ops");
    const ResponseMapping garbage = map_bulk_response(200, "<html>proxy error</html>", two);
    EXPECT_EQ(garbage.all.status, Status::Retry);
    EXPECT_EQ(garbage.all.message, "the bulk response is not a JSON object: <html>proxy error</html>");
    const ResponseMapping no_status =
        map_bulk_response(200, R"({"items":[{"index":{}},{"index":{"status":200}}]})", two);
    ASSERT_EQ(no_status.action, ResponseAction::PerItem);
    EXPECT_EQ(no_status.items[0].status, Status::Retry);
    EXPECT_EQ(no_status.items[1].status, Status::Ok);
}

std::string nested(std::string_view open, std::string_view inner, std::string_view close, int depth) {
    std::string text;
    for (int i = 0; i < depth; ++i) text += open;
    text += inner;
    for (int i = 0; i < depth; ++i) text += close;
    return text;
}

TEST(BulkResponse, AnItemNested100000DeepRetriesItsOpInsteadOfOverflowingTheStack) {
    const std::vector<ItemContext> ops(1);
    const ResponseMapping mapping =
        map_bulk_response(200, R"({"items":[)" + nested("[", "", "]", 100'000) + "]}", ops);
    ASSERT_EQ(mapping.action, ResponseAction::AllOps);
    EXPECT_EQ(mapping.all.status, Status::Retry);
    EXPECT_THAT(mapping.all.message, HasSubstr("nested deeper than"));
}

TEST(BulkResponse, AnErrorCause100000DeepIsShownAsRawText) {
    const std::vector<ItemContext> ops(1);
    const std::string error = nested(R"({"type":"t","caused_by":)", "{}", "}", 100'000);
    const ResponseMapping mapping = map_bulk_response(503, R"({"error":)" + error + "}", ops);
    ASSERT_EQ(mapping.action, ResponseAction::AllOps);
    EXPECT_EQ(mapping.all.status, Status::Retry);
    EXPECT_THAT(mapping.all.message, StartsWith(R"(HTTP 503: {"error":{"type":"t")"));
    EXPECT_THAT(describe_error(error), StartsWith(R"({"type":"t","caused_by":)"));
}

TEST(BulkResponse, BracketsInsideStringsDoNotCountAsNesting) {
    const std::vector<ItemContext> ops(1);
    const std::string reason = std::string(200, '[') + "\\\"" + std::string(200, '{');
    const ResponseMapping mapping = map_bulk_response(
        200, R"({"items":[{"index":{"status":400,"error":{"type":"x","reason":")" + reason + R"("}}}]})",
        ops);
    ASSERT_EQ(mapping.action, ResponseAction::PerItem);
    EXPECT_EQ(mapping.items.at(0).status, Status::Reject);
}

}  // namespace
}  // namespace indexer::sinks::elasticsearch
