// The Elasticsearch/OpenSearch sink plugin, loaded through the ABI like the
// indexer loads it, against the real Elasticsearch, OpenSearch 2 and
// OpenSearch 3 nodes of the test services. "Server stopped" goes through a
// TCP proxy that the test stops and starts; the shared services are never
// touched.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/plugin/sink_plugin.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "support/http.hpp"
#include "support/stopped_write.hpp"
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
using plugin::SinkResult;
using plugin::WriteControl;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

using Server = ::indexer::testing::SearchServer;

// Owns the bytes that SinkOps point at.
class Batch {
public:
    Batch& upsert(std::string id, const json& document, std::uint64_t version = 0, std::string target = {}) {
        return add(OpKind::Upsert, std::move(id), document.dump(), version, std::move(target));
    }
    Batch& upsert_text(std::string id, std::string document) {
        return add(OpKind::Upsert, std::move(id), std::move(document), 0, {});
    }
    Batch& remove(std::string id, std::uint64_t version = 0) {
        return add(OpKind::Delete, std::move(id), {}, version, {});
    }
    std::vector<SinkOp> ops() const {
        std::vector<SinkOp> out;
        for (const auto& e : entries_) out.push_back(SinkOp{e.kind, e.id, e.document, e.version, e.target});
        return out;
    }
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        OpKind kind;
        std::string id;
        std::string document;
        std::uint64_t version;
        std::string target;
    };
    Batch& add(OpKind kind, std::string id, std::string document, std::uint64_t version, std::string target) {
        entries_.push_back(Entry{kind, std::move(id), std::move(document), version, std::move(target)});
        return *this;
    }
    std::vector<Entry> entries_;
};

// A port on which nothing listens (bound once to find it, then released).
std::uint16_t unused_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    close(fd);
    return ntohs(address.sin_port);
}

std::string percent_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '_' || c == '.') {
            out.push_back(c);
        } else {
            out += {'%', kHex[u >> 4], kHex[u & 15]};
        }
    }
    return out;
}

std::size_t count(const std::vector<SinkResult>& results, OpStatus status) {
    std::size_t n = 0;
    for (const auto& r : results) n += r.status == status ? 1 : 0;
    return n;
}

// Formats the first results that are not OK, for failure messages.
std::string not_ok(const std::vector<SinkResult>& results) {
    std::string out;
    int shown = 0;
    for (std::size_t i = 0; i < results.size() && shown < 5; ++i) {
        if (results[i].status == OpStatus::Ok) continue;
        out += "\n  op " + std::to_string(i) + ": " + std::string(plugin::to_string(results[i].status)) +
               " " + std::to_string(results[i].native_code) + " " + results[i].message;
        ++shown;
    }
    return out;
}

class ElasticsearchSink : public ::testing::TestWithParam<Server> {
protected:
    void SetUp() override {
        INDEXER_REQUIRE_SERVICE(url, GetParam().env);
        url_ = url;
        index_ = testing::unique_name("es_sink");
        const std::string path = std::string(INDEXER_PLUGIN_BUILD_DIR) + "/indexer-sink-elasticsearch.so";
        auto loaded = SinkPlugin::load(path);
        ASSERT_TRUE(loaded) << loaded.error() << " (build the target indexer_sink_elasticsearch first)";
        plugin_ = loaded.value();
    }

    void TearDown() override {
        for (const auto& index : created_) testing::http("DELETE", url_ + "/" + index);
        for (const auto& file : files_) std::filesystem::remove(file);
    }

    // The sink's configuration: hosts and index, plus `extra` keys.
    std::string config(const json& extra = json::object(), std::vector<std::string> hosts = {}) {
        json config = {{"hosts", hosts.empty() ? std::vector<std::string>{url_} : hosts}, {"index", index_}};
        config.update(extra);
        created_.push_back(index_);
        return config.dump();
    }

    std::optional<SinkHandle> open(const std::string& config_json) {
        auto handle = plugin_->open(GetParam().name, config_json);
        if (!handle) {
            ADD_FAILURE() << handle.error();
            return std::nullopt;
        }
        return std::move(handle.value());
    }

    std::vector<SinkResult> write(SinkHandle& sink, const Batch& batch) {
        const auto ops = batch.ops();
        return sink.write(ops);
    }

    // The stored document, or nullopt when there is none.
    std::optional<json> get(const std::string& id, const std::string& index = {}) {
        const auto response = testing::http(
            "GET", url_ + "/" + (index.empty() ? index_ : index) + "/_doc/" + percent_encode(id));
        if (response.status == 404) return std::nullopt;
        EXPECT_EQ(response.status, 200) << response.body;
        return json::parse(response.body, nullptr, false);
    }

    std::size_t count_documents() {
        testing::http("POST", url_ + "/" + index_ + "/_refresh");
        const auto response = testing::http("GET", url_ + "/" + index_ + "/_count");
        EXPECT_EQ(response.status, 200) << response.body;
        return json::parse(response.body).value("count", std::size_t{0});
    }

    // A settings/mappings file for create_index: field `n` is an integer.
    std::string mapping_file() {
        const std::string path =
            (std::filesystem::temp_directory_path() / (index_ + "_mapping.json")).string();
        std::ofstream(path) << R"({"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                   "mappings": {"properties": {"n": {"type": "integer"}}}})";
        files_.push_back(path);
        return path;
    }

    std::string url_;
    std::string index_;
    std::shared_ptr<const SinkPlugin> plugin_;
    std::vector<std::string> created_;
    std::vector<std::string> files_;
};

TEST_P(ElasticsearchSink, UpsertedDocumentsAreReadableWithIdenticalSource) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    const json chair = {
        {"name", "chair"}, {"price", 12.5}, {"tags", {"wood", "brown"}}, {"stock", {{"paris", 3}}}};
    const json unicode = {{"name", "caf\u00e9 \u2615 \U0001F600"}, {"quote", "say \"hi\"\n"}};
    const std::string unicode_id = "id-\u00e9\u4e2d-\"quoted\"/slash";
    Batch batch;
    batch.upsert("1", chair).upsert(unicode_id, unicode).upsert_text("3", "{\n  \"pretty\": true\n}");
    const auto results = write(*sink, batch);
    ASSERT_EQ(count(results, OpStatus::Ok), 3U) << not_ok(results);
    EXPECT_EQ(results[0].native_code, 201);

    const auto first = get("1");
    ASSERT_TRUE(first);
    EXPECT_EQ((*first)["_source"], chair);
    const auto second = get(unicode_id);
    ASSERT_TRUE(second);
    EXPECT_EQ((*second)["_id"], unicode_id);
    EXPECT_EQ((*second)["_source"], unicode);
    const auto third = get("3");
    ASSERT_TRUE(third);
    EXPECT_EQ((*third)["_source"], json({{"pretty", true}}));
}

TEST_P(ElasticsearchSink, DeletedDocumentIsGone) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    ASSERT_EQ(count(write(*sink, Batch().upsert("7", {{"a", 1}})), OpStatus::Ok), 1U);
    ASSERT_TRUE(get("7"));
    const auto results = write(*sink, Batch().remove("7"));
    ASSERT_EQ(results[0].status, OpStatus::Ok) << not_ok(results);
    EXPECT_EQ(results[0].native_code, 200);
    EXPECT_FALSE(get("7"));
}

TEST_P(ElasticsearchSink, DeletingAMissingIdIsOk) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    // The index does not exist yet, then it exists without the id.
    auto results = write(*sink, Batch().remove("never-written"));
    ASSERT_EQ(results[0].status, OpStatus::Ok) << not_ok(results);
    EXPECT_EQ(results[0].native_code, 404);
    ASSERT_EQ(count(write(*sink, Batch().upsert("other", {{"a", 1}})), OpStatus::Ok), 1U);
    results = write(*sink, Batch().remove("never-written").remove("also-never", 5));
    EXPECT_EQ(count(results, OpStatus::Ok), 2U) << not_ok(results);
}

TEST_P(ElasticsearchSink, OneMalformedDocumentInABatchOf100IsTheOnlyRejection) {
    auto sink = open(config({{"create_index", {{"body_file", mapping_file()}}}}));
    ASSERT_TRUE(sink);
    Batch batch;
    for (int i = 0; i < 100; ++i) {
        if (i == 37) {
            batch.upsert(std::to_string(i), {{"n", "not a number"}});
        } else {
            batch.upsert(std::to_string(i), {{"n", i}});
        }
    }
    const auto results = write(*sink, batch);
    EXPECT_EQ(count(results, OpStatus::Ok), 99U) << not_ok(results);
    EXPECT_EQ(results[37].status, OpStatus::Reject);
    EXPECT_EQ(results[37].native_code, 400);
    EXPECT_THAT(results[37].message, HasSubstr("failed to parse field [n] of type [integer]"));
    EXPECT_EQ(count_documents(), 99U);
    EXPECT_FALSE(get("37"));
    const auto neighbour = get("38");
    ASSERT_TRUE(neighbour);
    EXPECT_EQ((*neighbour)["_source"]["n"], 38);
}

TEST_P(ElasticsearchSink, AnOlderExternalVersionAfterANewerOneIsOkAndChangesNothing) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    const json newer = {{"state", "v10"}};
    auto results = write(*sink, Batch().upsert("doc", newer, 10));
    ASSERT_EQ(results[0].status, OpStatus::Ok) << not_ok(results);

    results = write(*sink, Batch().upsert("doc", {{"state", "v5"}}, 5).remove("doc", 7));
    EXPECT_EQ(count(results, OpStatus::Ok), 2U) << not_ok(results);
    EXPECT_EQ(results[0].native_code, 409);
    EXPECT_EQ(results[1].native_code, 409);
    const auto stored = get("doc");
    ASSERT_TRUE(stored);
    EXPECT_EQ((*stored)["_source"], newer);
    EXPECT_EQ((*stored)["_version"], 10);

    // The same version again is written (external_gte), a newer delete removes it.
    results = write(*sink, Batch().upsert("doc", newer, 10).remove("doc", 11));
    EXPECT_EQ(count(results, OpStatus::Ok), 2U) << not_ok(results);
    EXPECT_FALSE(get("doc"));
}

TEST_P(ElasticsearchSink, OpsOnOneDocumentApplyInOrderAcrossConcurrentRequests) {
    // One op per request, four requests in flight: only the ordering of
    // requests that share a document keeps the last op last.
    auto sink = open(config({{"max_request_ops", 1}, {"max_in_flight_requests", 4}}));
    ASSERT_TRUE(sink);
    Batch batch;
    for (int i = 0; i < 20; ++i) {
        const std::string id = "k" + std::to_string(i);
        batch.upsert(id, {{"step", "first"}}).remove(id).upsert(id, {{"step", "last"}});
    }
    const auto results = write(*sink, batch);
    ASSERT_EQ(count(results, OpStatus::Ok), batch.size()) << not_ok(results);
    for (int i = 0; i < 20; ++i) {
        const auto stored = get("k" + std::to_string(i));
        ASSERT_TRUE(stored) << i;
        EXPECT_EQ((*stored)["_source"]["step"], "last") << i;
    }
}

TEST_P(ElasticsearchSink, TheTargetOfAnOpOverridesTheConfiguredIndex) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    const std::string other = index_ + "_other";
    created_.push_back(other);
    const auto results =
        write(*sink, Batch().upsert("t1", {{"where", "other"}}, 0, other).upsert("t2", {{"a", 1}}));
    ASSERT_EQ(count(results, OpStatus::Ok), 2U) << not_ok(results);
    EXPECT_TRUE(get("t1", other));
    EXPECT_FALSE(get("t1"));
    EXPECT_TRUE(get("t2"));
}

TEST_P(ElasticsearchSink, CreateIndexAtOpenAppliesTheMappingAndAcceptsAnExistingIndex) {
    const std::string cfg = config({{"create_index", {{"body_file", mapping_file()}}}});
    ASSERT_TRUE(open(cfg));
    ASSERT_TRUE(open(cfg));  // already there: fine
    const auto mapping = testing::http("GET", url_ + "/" + index_ + "/_mapping");
    ASSERT_EQ(mapping.status, 200) << mapping.body;
    EXPECT_EQ(json::parse(mapping.body)[index_]["mappings"]["properties"]["n"]["type"], "integer");
}

TEST_P(ElasticsearchSink, InvalidConfigFailsToOpenWithTheKeyPath) {
    auto handle = plugin_->open("bad", R"({"hosts": ["localhost:9200"], "index": "x"})");
    ASSERT_FALSE(handle);
    EXPECT_THAT(handle.error(), HasSubstr("config.hosts[0]: expected an http(s) URL"));
    handle = plugin_->open("bad", R"({"hosts": [")" + url_ + R"("], "indx": "x"})");
    ASSERT_FALSE(handle);
    EXPECT_THAT(handle.error(), HasSubstr("config.indx: unknown key"));
}

TEST_P(ElasticsearchSink, StoppedServerMakesEveryOpRetryAndARestartedOneTakesWritesAgain) {
    auto proxy = testing::TcpProxy::for_url(url_);
    proxy->start();
    auto sink = open(config({{"connect_timeout_ms", 2000}, {"request_timeout_ms", 10000}}, {proxy->url()}));
    ASSERT_TRUE(sink);
    auto results = write(*sink, Batch().upsert("before", {{"a", 1}}));
    ASSERT_EQ(results[0].status, OpStatus::Ok) << not_ok(results);
    EXPECT_TRUE(sink->health().is_ok());

    proxy->stop();
    Batch batch;
    for (int i = 0; i < 50; ++i) batch.upsert("during-" + std::to_string(i), {{"i", i}});
    batch.remove("before");
    results = write(*sink, batch);
    ASSERT_EQ(count(results, OpStatus::Retry), batch.size()) << not_ok(results);
    EXPECT_THAT(results[0].message, HasSubstr("127.0.0.1:" + std::to_string(proxy->port())));
    for (const auto& r : results) EXPECT_EQ(r.message, results[0].message);
    const Status health = sink->health();
    EXPECT_FALSE(health.is_ok());
    EXPECT_THAT(health.message(), HasSubstr("_cluster/health"));

    proxy->start();
    results = write(*sink, batch);
    EXPECT_EQ(count(results, OpStatus::Ok), batch.size()) << not_ok(results);
    EXPECT_TRUE(get("during-49"));
    EXPECT_FALSE(get("before"));
    EXPECT_TRUE(sink->health().is_ok());
}

TEST_P(ElasticsearchSink, AServerThatHangsMakesTheOpsRetryOnceTheRequestTimesOut) {
    auto proxy = testing::TcpProxy::for_url(url_);
    proxy->start();
    auto sink = open(config({{"request_timeout_ms", 1000}}, {proxy->url()}));
    ASSERT_TRUE(sink);
    proxy->pause(true);
    auto results = write(*sink, Batch().upsert("slow-1", {{"a", 1}}).remove("slow-2"));
    ASSERT_EQ(count(results, OpStatus::Retry), 2U) << not_ok(results);
    EXPECT_THAT(results[0].message, HasSubstr("Timeout was reached"));
    proxy->pause(false);
    results = write(*sink, Batch().upsert("slow-1", {{"a", 1}}).remove("slow-2"));
    EXPECT_EQ(count(results, OpStatus::Ok), 2U) << not_ok(results);
    EXPECT_TRUE(get("slow-1"));
}

TEST_P(ElasticsearchSink, AHungServerGivesRetryByTheWritesDeadlineLongBeforeTheRequestTimeout) {
    auto proxy = testing::TcpProxy::for_url(url_);
    proxy->start();
    auto sink = open(config({{"request_timeout_ms", 60000}}, {proxy->url()}));
    ASSERT_TRUE(sink);
    proxy->pause(true);
    const Batch batch = Batch().upsert("hung-1", {{"a", 1}}).remove("hung-2");
    const auto ops = batch.ops();
    const auto started = Clock::now();

    auto results = sink->write(ops, WriteControl{started + milliseconds(500), nullptr});

    const auto took = Clock::now() - started;
    EXPECT_GE(took, milliseconds(450));
    EXPECT_LT(took, milliseconds(1500));
    ASSERT_EQ(count(results, OpStatus::Retry), 2U) << not_ok(results);
    EXPECT_THAT(results[0].message, HasSubstr("deadline passed"));
    EXPECT_THAT(results[0].message, HasSubstr("/_bulk"));
    // The abandoned request does not poison the next write.
    proxy->pause(false);
    results = write(*sink, batch);
    EXPECT_EQ(count(results, OpStatus::Ok), 2U) << not_ok(results);
}

TEST_P(ElasticsearchSink, StopReturnsAWriteToAHungServerPromptly) {
    auto proxy = testing::TcpProxy::for_url(url_);
    proxy->start();
    auto sink = open(config({{"request_timeout_ms", 60000}}, {proxy->url()}));
    ASSERT_TRUE(sink);
    proxy->pause(true);
    const Batch batch = Batch().upsert("stopped-1", {{"a", 1}}).remove("stopped-2");
    const auto ops = batch.ops();
    // Under way once the hung server took the request's connection.
    const auto stopped =
        testing::stop_write_under_way(*sink, ops, [&] { return proxy->connections_accepted() > 0; });

    ASSERT_TRUE(stopped.was_under_way);
    EXPECT_LT(stopped.after_stop, milliseconds(200));
    const auto& results = stopped.results;
    ASSERT_EQ(count(results, OpStatus::Retry), 2U) << not_ok(results);
    EXPECT_THAT(results[0].message, HasSubstr("the host asked the write to stop"));
}

TEST_P(ElasticsearchSink, NothingListeningMakesEveryOpRetryWithCurlsReasonAndNoCredentials) {
    const std::string port = std::to_string(unused_port());
    auto sink = open(config(json::object(), {"http://writer:pa55-w0rd-secret@127.0.0.1:" + port}));
    ASSERT_TRUE(sink);
    const auto results = write(*sink, Batch().upsert("1", {{"a", 1}}).remove("2"));
    ASSERT_EQ(count(results, OpStatus::Retry), 2U) << not_ok(results);
    EXPECT_THAT(results[0].message,
                HasSubstr("POST http://127.0.0.1:" + port + "/_bulk: Couldn't connect to server"));
    EXPECT_THAT(results[0].message, Not(HasSubstr("pa55-w0rd-secret")));
    EXPECT_THAT(results[0].message, Not(HasSubstr("writer")));
    const Status health = sink->health();
    EXPECT_FALSE(health.is_ok());
    EXPECT_THAT(health.message(), Not(HasSubstr("pa55-w0rd-secret")));
}

TEST_P(ElasticsearchSink, AHostThatDoesNotAnswerIsFailedOverToTheNext) {
    const std::string dead = "http://127.0.0.1:" + std::to_string(unused_port());
    auto sink = open(config({{"max_request_ops", 10}}, {dead, url_}));
    ASSERT_TRUE(sink);
    Batch batch;
    for (int i = 0; i < 100; ++i) batch.upsert(std::to_string(i), {{"i", i}});
    const auto results = write(*sink, batch);
    EXPECT_EQ(count(results, OpStatus::Ok), 100U) << not_ok(results);
    EXPECT_EQ(count_documents(), 100U);
    EXPECT_TRUE(sink->health().is_ok());
}

TEST_P(ElasticsearchSink, ATenThousandOpBatchIsAllOk) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    Batch batch;
    for (int i = 0; i < 10'000; ++i) {
        batch.upsert("p" + std::to_string(i),
                     {{"id", i}, {"name", "product " + std::to_string(i)}, {"price", i * 0.5}});
    }
    const auto started = std::chrono::steady_clock::now();
    const auto results = write(*sink, batch);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    EXPECT_EQ(count(results, OpStatus::Ok), 10'000U) << not_ok(results);
    // Information only, never asserted.
    std::cout << "[ info ] 10000 upserts to " << GetParam().name << " in " << elapsed.count() << " ms\n";
    RecordProperty("ten_thousand_upserts_ms", static_cast<int>(elapsed.count()));
    EXPECT_EQ(count_documents(), 10'000U);
}

TEST_P(ElasticsearchSink, GzipOnAndOffBothWriteAndGzipSendsFewerBytes) {
    auto proxy = testing::TcpProxy::for_url(url_);
    proxy->start();
    std::uint64_t bytes[2] = {0, 0};
    for (const bool gzip : {true, false}) {
        auto sink = open(config({{"gzip", gzip}}, {proxy->url()}));
        ASSERT_TRUE(sink);
        Batch batch;
        const std::string prefix = gzip ? "gz" : "plain";
        for (int i = 0; i < 500; ++i) {
            batch.upsert(prefix + std::to_string(i),
                         {{"text", "the same words again and again " + std::to_string(i)}});
        }
        proxy->reset_counters();
        const auto results = write(*sink, batch);
        bytes[gzip ? 0 : 1] = proxy->bytes_to_upstream();
        EXPECT_EQ(count(results, OpStatus::Ok), 500U) << "gzip=" << gzip << not_ok(results);
        EXPECT_TRUE(get(prefix + "499")) << "gzip=" << gzip;
    }
    EXPECT_LT(bytes[0] * 2, bytes[1]) << "gzip: " << bytes[0] << " bytes, plain: " << bytes[1] << " bytes";
}

TEST_P(ElasticsearchSink, SeveralRequestsRunAtOnceOverConnectionsThatPersistBetweenCalls) {
    auto proxy = testing::TcpProxy::for_url(url_);
    proxy->start();
    auto sink = open(config({{"max_request_ops", 50}, {"max_in_flight_requests", 4}}, {proxy->url()}));
    ASSERT_TRUE(sink);
    for (int round = 0; round < 3; ++round) {
        Batch batch;
        for (int i = 0; i < 1000; ++i)
            batch.upsert(std::to_string(round) + "-" + std::to_string(i), {{"i", i}});
        const auto results = write(*sink, batch);
        ASSERT_EQ(count(results, OpStatus::Ok), 1000U) << not_ok(results);
    }
    // 60 requests in three calls: four connections, opened at once and reused.
    EXPECT_EQ(proxy->max_open_connections(), 4U);
    EXPECT_EQ(proxy->connections_accepted(), 4U);
    EXPECT_EQ(count_documents(), 3000U);
}

// Conditions of the index, not of the documents: every op is RETRY (the
// pipeline pauses) and nothing is rejected; once lifted, the same ops are OK.
class IndexCondition : public ElasticsearchSink {
protected:
    testing::HttpResponse admin(const std::string& method, const std::string& path,
                                const std::string& body = {}) {
        auto response = testing::http(method, url_ + path, body);
        EXPECT_EQ(response.status, 200) << method << " " << path << ": " << response.body;
        return response;
    }
    // An index and a delete: both must wait for the condition to pass.
    static Batch index_and_delete() {
        Batch batch;
        batch.upsert("1", {{"n", 1}}).upsert("2", {{"n", 2}}).remove("3");
        return batch;
    }
    static void expect_all_retry(const std::vector<SinkResult>& results, int code, const std::string& words) {
        for (const auto& result : results) {
            EXPECT_EQ(result.status, OpStatus::Retry) << result.message;
            EXPECT_EQ(result.native_code, code) << result.message;
            EXPECT_THAT(result.message, HasSubstr(words));
        }
    }
};

TEST_P(IndexCondition, AWriteBlockedIndexRetriesEveryOpUntilTheBlockIsLifted) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    ASSERT_EQ(count(write(*sink, Batch().upsert("0", {{"n", 0}})), OpStatus::Ok), 1U);
    admin("PUT", "/" + index_ + "/_settings", R"({"index.blocks.write": true})");
    expect_all_retry(write(*sink, index_and_delete()), 403, "cluster_block_exception");
    admin("PUT", "/" + index_ + "/_settings", R"({"index.blocks.write": null})");
    const auto results = write(*sink, index_and_delete());
    EXPECT_EQ(count(results, OpStatus::Ok), 3U) << not_ok(results);
}

TEST_P(IndexCondition, AClosedIndexRetriesEveryOpUntilItIsOpened) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    ASSERT_EQ(count(write(*sink, Batch().upsert("0", {{"n", 0}})), OpStatus::Ok), 1U);
    admin("POST", "/" + index_ + "/_close");
    expect_all_retry(write(*sink, index_and_delete()), 400, "index_closed_exception");
    admin("POST", "/" + index_ + "/_open?wait_for_active_shards=1");
    const auto results = write(*sink, index_and_delete());
    EXPECT_EQ(count(results, OpStatus::Ok), 3U) << not_ok(results);
}

TEST_P(IndexCondition, ADeletedIndexThatTheServerMayNotCreateRetriesUpsertsUntilItExists) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    ASSERT_EQ(count(write(*sink, Batch().upsert("0", {{"n", 0}})), OpStatus::Ok), 1U);
    // Auto-creation off for this test's index only (other suites share the
    // cluster), restored however the test ends.
    admin("PUT", "/_cluster/settings",
          json({{"persistent", {{"action.auto_create_index", "-" + index_ + ",+*"}}}}).dump());
    struct Restore {
        std::string url;
        ~Restore() {
            testing::http("PUT", url + "/_cluster/settings",
                          R"({"persistent":{"action.auto_create_index":null}})");
        }
    } restore{url_};
    admin("DELETE", "/" + index_);
    const auto results = write(*sink, index_and_delete());
    ASSERT_EQ(results.size(), 3U);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(results[i].status, OpStatus::Retry) << results[i].message;
        EXPECT_EQ(results[i].native_code, 404);
        EXPECT_THAT(results[i].message, HasSubstr("index_not_found_exception"));
    }
    // The document of a delete is not there either way.
    EXPECT_EQ(results[2].status, OpStatus::Ok) << results[2].message;
    admin("PUT", "/" + index_, R"({"settings": {"number_of_shards": 1, "number_of_replicas": 0}})");
    const auto after = write(*sink, index_and_delete());
    EXPECT_EQ(count(after, OpStatus::Ok), 3U) << not_ok(after);
}

TEST_P(IndexCondition, AnAliasOnTwoIndicesWithoutAWriteIndexRetriesEveryOpUntilOneIsSet) {
    const std::string first = index_ + "_a1";
    const std::string second = index_ + "_a2";
    created_.push_back(first);
    created_.push_back(second);
    for (const auto& each : {first, second})
        admin("PUT", "/" + each, R"({"settings": {"number_of_shards": 1, "number_of_replicas": 0}})");
    // The sink writes to index_, which is now an alias.
    admin("POST", "/_aliases",
          json({{"actions",
                 {{{"add", {{"index", first}, {"alias", index_}}}},
                  {{"add", {{"index", second}, {"alias", index_}}}}}}})
              .dump());
    auto sink = open(config());
    ASSERT_TRUE(sink);
    expect_all_retry(write(*sink, index_and_delete()), 400, "no write index is defined for alias");
    admin("POST", "/_aliases",
          json({{"actions", {{{"add", {{"index", second}, {"alias", index_}, {"is_write_index", true}}}}}}})
              .dump());
    const auto results = write(*sink, index_and_delete());
    EXPECT_EQ(count(results, OpStatus::Ok), 3U) << not_ok(results);
    EXPECT_TRUE(get("1", second));
}

// A mapping conflict is the sink's REJECT for each document, with the same
// reason but for the id and value: the engine tells one bad document from a
// whole stream (reject_guard.hpp); the sink reports what the server said.
TEST_P(IndexCondition, AMappingConflictRejectsEachDocumentAloneWhetherOneOrAll) {
    auto sink = open(config({{"create_index", {{"body_file", mapping_file()}}}}));
    ASSERT_TRUE(sink);
    Batch all;
    for (int i = 0; i < 50; ++i) all.upsert(std::to_string(i), {{"n", "v" + std::to_string(i)}});
    const auto results = write(*sink, all);
    EXPECT_EQ(count(results, OpStatus::Reject), 50U) << not_ok(results);
    for (const auto& result : results) {
        EXPECT_EQ(result.native_code, 400);
        EXPECT_THAT(result.message,
                    HasSubstr("mapper_parsing_exception: failed to parse field [n] of type [integer]"));
    }
    // A batch of one bad document.
    const auto alone = write(*sink, Batch().upsert("x", {{"n", "text"}}));
    EXPECT_EQ(alone.at(0).status, OpStatus::Reject) << alone.at(0).message;
}

TEST_P(ElasticsearchSink, HealthReportsAnAnsweringCluster) {
    auto sink = open(config());
    ASSERT_TRUE(sink);
    const Status health = sink->health();
    EXPECT_TRUE(health.is_ok()) << health.message();
}

INSTANTIATE_TEST_SUITE_P(Servers, ElasticsearchSink,
                         ::testing::ValuesIn(::indexer::testing::search_servers()),
                         ::indexer::testing::search_server_name);

INSTANTIATE_TEST_SUITE_P(Servers, IndexCondition, ::testing::ValuesIn(::indexer::testing::search_servers()),
                         ::indexer::testing::search_server_name);

}  // namespace
}  // namespace indexer
