// Reindex targets through the Elasticsearch/OpenSearch sink plugin (sink ABI
// 1.3: create_target and switch_target), loaded like the indexer loads it,
// against the real servers of the test services. A hung server is played by
// a TCP proxy; the shared services are never touched beyond this suite's
// own, uniquely named indices and aliases.
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/plugin/sink_plugin.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "support/http.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

namespace indexer {
namespace {

using nlohmann::json;
using plugin::OpKind;
using plugin::OpStatus;
using plugin::SinkHandle;
using plugin::SinkOp;
using plugin::SinkPlugin;
using plugin::WriteControl;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

using Server = ::indexer::testing::SearchServer;

class ElasticsearchTargets : public ::testing::TestWithParam<Server> {
protected:
    void SetUp() override {
        INDEXER_REQUIRE_SERVICE(url, GetParam().env);
        url_ = url;
        alias_ = testing::unique_name("es_targets");
        const std::string path = std::string(INDEXER_PLUGIN_BUILD_DIR) + "/indexer-sink-elasticsearch.so";
        auto loaded = SinkPlugin::load(path);
        ASSERT_TRUE(loaded) << loaded.error() << " (build the target indexer_sink_elasticsearch first)";
        plugin_ = loaded.value();
        mapping_file_ = (std::filesystem::temp_directory_path() / (alias_ + "_mapping.json")).string();
        // `n` is a keyword: a dynamic mapping would make it a long.
        std::ofstream(mapping_file_) << R"({"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                            "mappings": {"properties": {"n": {"type": "keyword"}}}})";
    }

    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove(mapping_file_, ignored);
        // Every index of this test by name (a wildcard DELETE may be refused by the server).
        const auto listed = testing::http("GET", url_ + "/_cat/indices/" + alias_ + "*?format=json&h=index");
        const auto indices = json::parse(listed.body, nullptr, false);
        if (!indices.is_array()) return;
        for (const auto& entry : indices) {
            if (entry.is_object() && entry.contains("index"))
                testing::http("DELETE", url_ + "/" + entry["index"].get<std::string>());
        }
    }

    // With create_index only when asked: opening it on an absent name makes
    // a concrete index of that name.
    std::optional<SinkHandle> open(bool create_index, const std::string& host = {}) {
        json config = {{"hosts", {host.empty() ? url_ : host}}, {"index", alias_}};
        if (create_index) config["create_index"] = {{"body_file", mapping_file_}};
        auto handle = plugin_->open(GetParam().name, config.dump());
        if (!handle) {
            ADD_FAILURE() << handle.error();
            return std::nullopt;
        }
        return std::move(handle.value());
    }

    std::string create(SinkHandle& sink, const std::string& suffix) {
        auto name = sink.create_target(suffix);
        EXPECT_TRUE(name) << name.error();
        return name ? name.value() : std::string{};
    }

    void write(SinkHandle& sink, const std::vector<std::string>& ids, const std::string& target = {}) {
        std::vector<std::string> documents;
        for (const auto& id : ids) documents.push_back(json{{"n", id}}.dump());
        std::vector<SinkOp> ops;
        for (std::size_t i = 0; i < ids.size(); ++i)
            ops.push_back({OpKind::Upsert, ids[i], documents[i], 0, target});
        for (const auto& result : sink.write(ops)) EXPECT_EQ(result.status, OpStatus::Ok) << result.message;
    }

    std::size_t count(const std::string& name) {
        testing::http("POST", url_ + "/" + name + "/_refresh");
        const auto response = testing::http("GET", url_ + "/" + name + "/_count");
        EXPECT_EQ(response.status, 200) << response.body;
        const auto body = json::parse(response.body, nullptr, false);
        return body.is_object() ? body.value("count", std::size_t{0}) : 0;
    }

    // GET, not HEAD: the test client would wait for a body HEAD never has.
    bool exists(const std::string& index) { return testing::http("GET", url_ + "/" + index).status == 200; }

    // The indices the alias points to (the keys of GET /<alias>/_alias), or
    // {alias} when it is a concrete index.
    std::vector<std::string> resolve() {
        const auto response = testing::http("GET", url_ + "/" + alias_ + "/_alias");
        if (response.status != 200) return {};
        std::vector<std::string> indices;
        const json body = json::parse(response.body, nullptr, false);
        if (!body.is_object()) return {};
        for (const auto& [index, entry] : body.items()) indices.push_back(index);
        return indices;
    }

    std::string url_;
    std::string alias_;
    std::string mapping_file_;
    std::shared_ptr<const SinkPlugin> plugin_;
};

TEST_P(ElasticsearchTargets, CreateTargetMakesAnEmptyIndexWithTheCreateIndexBody) {
    auto sink = open(false);
    ASSERT_TRUE(sink);
    ASSERT_TRUE(sink->has_create_target() && sink->has_switch_target());
    // create_index's body reaches create_target even when open created nothing.
    auto with_body = open(true);
    ASSERT_TRUE(with_body);
    testing::http("DELETE", url_ + "/" + alias_);  // the one open made

    const std::string name = create(*with_body, "20261201t114500z");

    EXPECT_EQ(name, alias_ + "-20261201t114500z");
    const auto mapping = testing::http("GET", url_ + "/" + name + "/_mapping");
    ASSERT_EQ(mapping.status, 200) << mapping.body;
    EXPECT_EQ(json::parse(mapping.body)[name]["mappings"]["properties"]["n"]["type"], "keyword")
        << mapping.body;
    EXPECT_EQ(count(name), 0U);
    EXPECT_FALSE(exists(alias_)) << "creating a target must not touch the name";
}

TEST_P(ElasticsearchTargets, OpsWithTheTargetLandInTheNewIndexAndOthersInTheDefault) {
    auto sink = open(false);
    ASSERT_TRUE(sink);
    write(*sink, {"old"});  // auto-created concrete index of the name
    const std::string name = create(*sink, "t1");

    write(*sink, {"a", "b"}, name);

    EXPECT_EQ(count(name), 2U);
    EXPECT_EQ(count(alias_), 1U);
}

TEST_P(ElasticsearchTargets, SwitchOnAnAbsentNameIsTheInitialLoad) {
    auto sink = open(false);
    ASSERT_TRUE(sink);
    const std::string name = create(*sink, "t1");
    write(*sink, {"a", "b", "c"}, name);

    auto previous = sink->switch_target(name, false);

    ASSERT_TRUE(previous) << previous.error();
    EXPECT_EQ(previous.value(), "");
    EXPECT_EQ(resolve(), std::vector<std::string>{name});
    EXPECT_EQ(count(alias_), 3U);
    // Writes without a target go through the alias into the new index.
    write(*sink, {"d"});
    EXPECT_EQ(count(name), 4U);
    // Asking again is harmless.
    auto again = sink->switch_target(name, false);
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(again.value(), "");
}

TEST_P(ElasticsearchTargets, ASecondSwitchMovesTheAliasAndDeletesTheOldIndex) {
    auto sink = open(false);
    ASSERT_TRUE(sink);
    const std::string first = create(*sink, "t1");
    write(*sink, {"a"}, first);
    ASSERT_TRUE(sink->switch_target(first, false));
    const std::string second = create(*sink, "t2");
    write(*sink, {"a", "b"}, second);

    auto previous = sink->switch_target(second, false);

    ASSERT_TRUE(previous) << previous.error();
    EXPECT_EQ(previous.value(), first);
    EXPECT_EQ(resolve(), std::vector<std::string>{second});
    EXPECT_EQ(count(alias_), 2U);
    EXPECT_FALSE(exists(first));
}

TEST_P(ElasticsearchTargets, KeepOldKeepsThePreviousIndexOutsideTheAlias) {
    auto sink = open(false);
    ASSERT_TRUE(sink);
    const std::string first = create(*sink, "t1");
    write(*sink, {"a"}, first);
    ASSERT_TRUE(sink->switch_target(first, true));
    const std::string second = create(*sink, "t2");

    auto previous = sink->switch_target(second, true);

    ASSERT_TRUE(previous) << previous.error();
    EXPECT_EQ(previous.value(), first);
    EXPECT_EQ(resolve(), std::vector<std::string>{second});
    EXPECT_TRUE(exists(first));
    EXPECT_EQ(count(first), 1U);
}

TEST_P(ElasticsearchTargets, AnAliasOnSeveralIndicesMovesOffAllOfThem) {
    auto sink = open(false);
    ASSERT_TRUE(sink);
    const std::string first = create(*sink, "t1");
    const std::string second = create(*sink, "t2");
    const auto added = testing::http("POST", url_ + "/_aliases",
                                     json{{"actions",
                                           {{{"add", {{"index", first}, {"alias", alias_}}}},
                                            {{"add", {{"index", second}, {"alias", alias_}}}}}}}
                                         .dump());
    ASSERT_EQ(added.status, 200) << added.body;
    const std::string third = create(*sink, "t3");

    auto previous = sink->switch_target(third, true);

    ASSERT_TRUE(previous) << previous.error();
    EXPECT_EQ(previous.value(), first + "," + second);
    EXPECT_EQ(resolve(), std::vector<std::string>{third});
}

TEST_P(ElasticsearchTargets, AConcreteIndexOfTheNameIsReplacedInOneStep) {
    auto sink = open(true);  // creates the concrete index at open
    ASSERT_TRUE(sink);
    write(*sink, {"old-1", "old-2"});
    ASSERT_EQ(resolve(), std::vector<std::string>{alias_});
    const std::string name = create(*sink, "t1");
    write(*sink, {"new"}, name);

    // Keeping a concrete index that holds documents under the alias's name is impossible.
    auto kept = sink->switch_target(name, true);
    ASSERT_FALSE(kept);
    EXPECT_FALSE(kept.status().is_retryable());
    EXPECT_THAT(kept.error(), HasSubstr("concrete index"));
    EXPECT_EQ(count(alias_), 2U);

    auto previous = sink->switch_target(name, false);

    ASSERT_TRUE(previous) << previous.error();
    EXPECT_EQ(previous.value(), alias_);
    EXPECT_EQ(resolve(), std::vector<std::string>{name});
    EXPECT_EQ(count(alias_), 1U);
    // The sink never makes a concrete index of the name again: writes go through the alias.
    write(*sink, {"after"});
    EXPECT_EQ(count(name), 2U);
    EXPECT_EQ(resolve(), std::vector<std::string>{name});
}

TEST_P(ElasticsearchTargets, KeepOldOnAnEmptyConcreteIndexMadeAtOpenReplacesIt) {
    auto sink = open(true);  // the first load of a pipeline with create_index
    ASSERT_TRUE(sink);
    const std::string name = create(*sink, "t1");

    auto previous = sink->switch_target(name, true);

    ASSERT_TRUE(previous) << previous.error();
    EXPECT_EQ(previous.value(), alias_);
    EXPECT_EQ(resolve(), std::vector<std::string>{name});
}

TEST_P(ElasticsearchTargets, ANameTakenIsRejected) {
    auto sink = open(false);
    ASSERT_TRUE(sink);
    create(*sink, "t1");

    auto again = sink->create_target("t1");

    ASSERT_FALSE(again);
    EXPECT_FALSE(again.status().is_retryable());
    EXPECT_THAT(again.error(), HasSubstr("already exists"));
}

TEST_P(ElasticsearchTargets, AnInvalidSuffixIsRejectedWithoutCreatingAnything) {
    auto sink = open(false);
    ASSERT_TRUE(sink);
    for (const std::string& suffix :
         std::vector<std::string>{"UPPER", "a b", "a/b", "a*", "", std::string(300, 'x')}) {
        auto name = sink->create_target(suffix);
        ASSERT_FALSE(name) << suffix;
        EXPECT_FALSE(name.status().is_retryable()) << suffix;
        EXPECT_THAT(name.error(), HasSubstr("refused")) << suffix;
    }
    EXPECT_TRUE(resolve().empty());
}

TEST_P(ElasticsearchTargets, SwitchingToAMissingTargetIsRejected) {
    auto sink = open(false);
    ASSERT_TRUE(sink);

    auto previous = sink->switch_target(alias_ + "-never-created", false);

    ASSERT_FALSE(previous);
    EXPECT_FALSE(previous.status().is_retryable());
    EXPECT_THAT(previous.error(), HasSubstr("does not exist"));
    auto itself = sink->switch_target(alias_, false);
    ASSERT_FALSE(itself);
    EXPECT_FALSE(itself.status().is_retryable());
}

TEST_P(ElasticsearchTargets, AHungServerGivesRetryByTheDeadline) {
    auto proxy = testing::TcpProxy::for_url(url_);
    proxy->start();
    auto sink = open(false, proxy->url());
    ASSERT_TRUE(sink);
    const std::string name = create(*sink, "t1");
    proxy->pause(true);

    auto started = Clock::now();
    auto created = sink->create_target("t2", WriteControl{started + milliseconds(500), nullptr});
    auto took = Clock::now() - started;
    EXPECT_GE(took, milliseconds(450));
    EXPECT_LT(took, milliseconds(1500));
    ASSERT_FALSE(created);
    EXPECT_TRUE(created.status().is_retryable());
    EXPECT_THAT(created.error(), HasSubstr("deadline"));

    started = Clock::now();
    auto switched = sink->switch_target(name, false, WriteControl{started + milliseconds(500), nullptr});
    took = Clock::now() - started;
    EXPECT_LT(took, milliseconds(1500));
    ASSERT_FALSE(switched);
    EXPECT_TRUE(switched.status().is_retryable());
    EXPECT_THAT(switched.error(), HasSubstr("deadline"));
    proxy->pause(false);
}

INSTANTIATE_TEST_SUITE_P(Servers, ElasticsearchTargets,
                         ::testing::ValuesIn(::indexer::testing::search_servers()),
                         ::indexer::testing::search_server_name);

}  // namespace
}  // namespace indexer
