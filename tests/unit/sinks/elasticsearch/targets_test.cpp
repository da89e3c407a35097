// Reindex targets: index name rules, what GET /<name>/_alias says the
// configured name is, the one _aliases request that moves it, and the
// answers to creating an index and to _aliases, on answers shaped like those
// of Elasticsearch 7.10 and OpenSearch 2/3 and on hostile ones.
#include "indexer/sinks/elasticsearch/targets.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace indexer::sinks::elasticsearch {
namespace {

using indexer::sdk::Status;
using nlohmann::json;
using ::testing::HasSubstr;
using Kind = NameState::Kind;

constexpr std::string_view kIndexNotFound =
    R"({"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [products]",)"
    R"("index":"products"}],"type":"index_not_found_exception","reason":"no such index [products]",)"
    R"("index":"products"},"status":404})";

TEST(IndexNameProblem, AcceptsLowerCaseNamesWithDashesDotsAndDigits) {
    EXPECT_EQ(index_name_problem("products-20261201t114500z"), std::nullopt);
    EXPECT_EQ(index_name_problem("a.b_c-1"), std::nullopt);
    EXPECT_EQ(index_name_problem("caf\xc3\xa9"), std::nullopt);
    EXPECT_EQ(index_name_problem(std::string(255, 'a')), std::nullopt);
}

TEST(IndexNameProblem, RefusesWhatNoServerAccepts) {
    const std::vector<std::string> names = {
        "",     ".",   "..",   "-a",  "_a",  "+a",   "Products",
        "a b",  "a/b", "a\\b", "a*",  "a?",  "a\"b", "a<b",
        "a>b",  "a|b", "a,b",  "a#b", "a:b", "a\nb", std::string(256, 'a'),
        "a\xff"};
    for (const std::string& name : names) {
        EXPECT_NE(index_name_problem(name), std::nullopt) << name;
    }
    EXPECT_THAT(*index_name_problem("Products"), HasSubstr("upper-case"));
    EXPECT_THAT(*index_name_problem("a\xff"), HasSubstr("UTF-8"));
}

TEST(NameStateMapping, AnAliasListsItsIndicesSorted) {
    const NameState state = map_name_state(
        200,
        R"({"products-b":{"aliases":{"products":{},"other":{}}},"products-a":{"aliases":{"products":{}}}})",
        "products");
    EXPECT_EQ(state.kind, Kind::Alias);
    EXPECT_EQ(state.indices, (std::vector<std::string>{"products-a", "products-b"}));
}

TEST(NameStateMapping, AConcreteIndexOfTheNameIsAnIndexWhateverItsAliases) {
    const NameState plain = map_name_state(200, R"({"products":{"aliases":{}}})", "products");
    EXPECT_EQ(plain.kind, Kind::Index);
    EXPECT_EQ(plain.indices, (std::vector<std::string>{"products"}));
    EXPECT_EQ(map_name_state(200, R"({"products":{"aliases":{"x":{}}}})", "products").kind, Kind::Index);
}

TEST(NameStateMapping, IndexNotFoundIsAbsent) {
    EXPECT_EQ(map_name_state(404, kIndexNotFound, "products").kind, Kind::Absent);
}

TEST(NameStateMapping, HostileOrUnexpectedAnswersAreUnknownAndNeverActedOn) {
    // An index that does not carry the alias: not an answer about the name.
    const NameState stranger = map_name_state(200, R"({"other":{"aliases":{}}})", "products");
    EXPECT_EQ(stranger.kind, Kind::Unknown);
    EXPECT_THAT(stranger.failure, HasSubstr("other"));
    // Both the index and an alias of that name: impossible, so not trusted.
    EXPECT_EQ(
        map_name_state(200, R"({"products":{"aliases":{}},"p-1":{"aliases":{"products":{}}}})", "products")
            .kind,
        Kind::Unknown);
    for (const std::string_view body :
         {std::string_view{""}, std::string_view{"{}"}, std::string_view{"[]"}, std::string_view{"null"},
          std::string_view{"<html>proxy</html>"}, std::string_view{R"({"p-1":"aliases"})"},
          std::string_view{R"({"p-1":{"aliases":["products"]}})"},
          std::string_view{R"({"p-1":{"aliases":)"}}) {
        const NameState state = map_name_state(200, body, "products");
        EXPECT_EQ(state.kind, Kind::Unknown) << body;
        EXPECT_FALSE(state.failure.empty()) << body;
    }
    // A 404 that is not index_not_found (a proxy's page) is not "absent".
    const NameState proxy = map_name_state(404, "<html>not found</html>", "products");
    EXPECT_EQ(proxy.kind, Kind::Unknown);
    EXPECT_FALSE(proxy.retry);
}

TEST(NameStateMapping, TransientStatusesMayBeAskedAgainOthersNot) {
    EXPECT_TRUE(map_name_state(503, "", "products").retry);
    EXPECT_TRUE(map_name_state(429, "{}", "products").retry);
    const NameState forbidden = map_name_state(
        403, R"({"error":{"type":"security_exception","reason":"no permission"},"status":403})", "products");
    EXPECT_EQ(forbidden.kind, Kind::Unknown);
    EXPECT_FALSE(forbidden.retry);
    EXPECT_THAT(forbidden.failure, HasSubstr("security_exception"));
}

TEST(SwitchActions, MovesAnAliasInOneRequest) {
    const json body =
        json::parse(switch_actions("products", "products-2", {"products-0", "products-1"}, false));
    EXPECT_EQ(body, json::parse(R"({"actions":[
        {"remove":{"indices":["products-0","products-1"],"alias":"products"}},
        {"add":{"index":"products-2","alias":"products"}}]})"));
}

TEST(SwitchActions, AnAbsentNameIsOnlyAdded) {
    EXPECT_EQ(json::parse(switch_actions("products", "products-2", {}, false)),
              json::parse(R"({"actions":[{"add":{"index":"products-2","alias":"products"}}]})"));
}

TEST(SwitchActions, AConcreteIndexIsReplacedInTheSameRequest) {
    EXPECT_EQ(json::parse(switch_actions("products", "products-2", {"products"}, true)),
              json::parse(R"({"actions":[{"add":{"index":"products-2","alias":"products"}},
                                         {"remove_index":{"index":"products"}}]})"));
}

TEST(SwitchActions, NamesAreJsonEscaped) {
    const json body = json::parse(switch_actions("a\"b", "c\\d", {}, false));
    EXPECT_EQ(body["actions"][0]["add"]["alias"], "a\"b");
    EXPECT_EQ(body["actions"][0]["add"]["index"], "c\\d");
}

TEST(CreateResponse, CreatedIsOk) {
    const TargetOutcome outcome =
        map_create_response(200, R"({"acknowledged":true,"shards_acknowledged":true,"index":"p-1"})", "p-1");
    EXPECT_EQ(outcome.status, Status::Ok);
    EXPECT_EQ(outcome.native_code, 200);
}

TEST(CreateResponse, ANameTakenIsRejectedSayingSo) {
    const TargetOutcome exists = map_create_response(
        400,
        R"({"error":{"root_cause":[{"type":"resource_already_exists_exception","reason":"index [p-1/x] already exists"}],)"
        R"("type":"resource_already_exists_exception","reason":"index [p-1/x] already exists"},"status":400})",
        "p-1");
    EXPECT_EQ(exists.status, Status::Reject);
    EXPECT_THAT(exists.message, HasSubstr("\"p-1\" already exists"));
    const TargetOutcome alias = map_create_response(
        400,
        R"({"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [p-1], already exists as alias"},"status":400})",
        "p-1");
    EXPECT_EQ(alias.status, Status::Reject);
    EXPECT_THAT(alias.message, HasSubstr("already exists"));
}

TEST(CreateResponse, TransientFailuresRetryOthersReject) {
    EXPECT_EQ(map_create_response(503, "", "p").status, Status::Retry);
    EXPECT_EQ(map_create_response(429, "{}", "p").status, Status::Retry);
    const TargetOutcome bad = map_create_response(
        400, R"({"error":{"type":"mapper_parsing_exception","reason":"unknown type [nope]"},"status":400})",
        "p");
    EXPECT_EQ(bad.status, Status::Reject);
    EXPECT_THAT(bad.message, HasSubstr("mapper_parsing_exception"));
    EXPECT_EQ(map_create_response(400, "<html>gateway</html>", "p").status, Status::Reject);
}

TEST(AliasesResponse, OnlyAnAcknowledgedAnswerIsOk) {
    EXPECT_EQ(map_aliases_response(200, R"({"acknowledged":true})", "p-1").status, Status::Ok);
    for (const std::string_view body :
         {std::string_view{R"({"acknowledged":false})"}, std::string_view{""}, std::string_view{"[true]"},
          std::string_view{R"({"acknowledged":"true"})"}, std::string_view{"<html>"}}) {
        const TargetOutcome outcome = map_aliases_response(200, body, "p-1");
        EXPECT_EQ(outcome.status, Status::Retry) << body;
        EXPECT_THAT(outcome.message, HasSubstr("acknowledged")) << body;
    }
}

TEST(AliasesResponse, AMissingTargetIsRejectedTransientFailuresRetry) {
    const TargetOutcome missing = map_aliases_response(404, kIndexNotFound, "p-1");
    EXPECT_EQ(missing.status, Status::Reject);
    EXPECT_THAT(missing.message, HasSubstr("\"p-1\" does not exist"));
    EXPECT_EQ(map_aliases_response(502, "bad gateway", "p-1").status, Status::Retry);
    EXPECT_EQ(
        map_aliases_response(400, R"({"error":{"type":"illegal_argument_exception","reason":"x"}})", "p-1")
            .status,
        Status::Reject);
}

TEST(IndexListPath, JoinsEscapedNamesWithPlainCommas) {
    EXPECT_EQ(index_list_path({"a-1", "b.2"}), "a-1,b.2");
    EXPECT_EQ(index_list_path({"caf\xc3\xa9", "x y"}), "caf%C3%A9,x%20y");
    EXPECT_EQ(index_list_path({}), "");
}

}  // namespace
}  // namespace indexer::sinks::elasticsearch
