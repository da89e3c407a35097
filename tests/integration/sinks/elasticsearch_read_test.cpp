// Reading an index back through the Elasticsearch/OpenSearch sink plugin
// (sink ABI 1.2: read and list), loaded like the indexer loads it, against
// the real servers of the test services. Hung servers are played by a TCP
// proxy; the shared services are never touched.
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/plugin/sink_plugin.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "support/http.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

namespace indexer {
namespace {

using nlohmann::json;
using plugin::ListPage;
using plugin::OpKind;
using plugin::OpStatus;
using plugin::ReadResult;
using plugin::ReadStatus;
using plugin::SinkHandle;
using plugin::SinkOp;
using plugin::SinkPlugin;
using plugin::WriteControl;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

using Server = ::indexer::testing::SearchServer;

class ElasticsearchRead : public ::testing::TestWithParam<Server> {
protected:
    void SetUp() override {
        INDEXER_REQUIRE_SERVICE(url, GetParam().env);
        url_ = url;
        index_ = testing::unique_name("es_read");
        const std::string path = std::string(INDEXER_PLUGIN_BUILD_DIR) + "/indexer-sink-elasticsearch.so";
        auto loaded = SinkPlugin::load(path);
        ASSERT_TRUE(loaded) << loaded.error() << " (build the target indexer_sink_elasticsearch first)";
        plugin_ = loaded.value();
    }

    void TearDown() override { testing::http("DELETE", url_ + "/" + index_); }

    std::optional<SinkHandle> open(const json& extra = json::object(), const std::string& host = {}) {
        json config = {{"hosts", {host.empty() ? url_ : host}}, {"index", index_}};
        config.update(extra);
        auto handle = plugin_->open(GetParam().name, config.dump());
        if (!handle) {
            ADD_FAILURE() << handle.error();
            return std::nullopt;
        }
        return std::move(handle.value());
    }

    // Writes {"n": i} under "doc-<i>" for i in [0, n), in batches, with `version` when not 0.
    void write_documents(SinkHandle& sink, std::size_t n, std::uint64_t version = 0) {
        for (std::size_t first = 0; first < n; first += 1000) {
            std::vector<std::string> ids;
            std::vector<std::string> documents;
            for (std::size_t i = first; i < std::min(n, first + 1000); ++i) {
                ids.push_back("doc-" + std::to_string(i));
                documents.push_back(json{{"n", i}}.dump());
            }
            std::vector<SinkOp> ops;
            for (std::size_t k = 0; k < ids.size(); ++k) {
                ops.push_back({OpKind::Upsert, ids[k], documents[k], version, {}});
            }
            for (const auto& result : sink.write(ops))
                ASSERT_EQ(result.status, OpStatus::Ok) << result.message;
        }
    }

    std::vector<ReadResult> read(SinkHandle& sink, const std::vector<std::string>& ids,
                                 const WriteControl& control = {}) {
        const std::vector<std::string_view> views(ids.begin(), ids.end());
        auto results = sink.read(views, {}, control);
        EXPECT_TRUE(results) << results.error();
        return results ? std::move(results).value() : std::vector<ReadResult>{};
    }

    // Every id of the listing, how often each came, and how many pages it took.
    std::map<std::string, int> list_all(SinkHandle& sink, std::size_t page_size, int& pages,
                                        std::string* last_cursor = nullptr) {
        std::map<std::string, int> seen;
        std::string cursor;
        pages = 0;
        do {
            auto page = sink.list(cursor, page_size);
            EXPECT_TRUE(page) << page.error();
            if (!page) break;
            EXPECT_EQ(page->status, OpStatus::Ok) << page->message;
            if (page->status != OpStatus::Ok) break;
            EXPECT_LE(page->ids.size(), page_size);
            for (const auto& id : page->ids) ++seen[id];
            cursor = page->next_cursor;
            if (last_cursor != nullptr && !cursor.empty()) *last_cursor = cursor;
            ++pages;
        } while (!cursor.empty() && pages < 1000);
        return seen;
    }

    std::string url_;
    std::string index_;
    std::shared_ptr<const SinkPlugin> plugin_;
};

TEST_P(ElasticsearchRead, WrittenDocumentsReadBackWithTheirSourceAndMissingOnesAreNotFound) {
    auto sink = open();
    ASSERT_TRUE(sink);
    const std::string pretty = "{\"name\": \"caf\u00e9\",  \"price\": 12.50, \"tags\": [\"a\", \"b\"]}";
    const std::string unicode_id = "id-\u00e9\u4e2d-\"quoted\"/slash";
    const std::vector<SinkOp> ops = {{OpKind::Upsert, "1", pretty, 0, {}},
                                     {OpKind::Upsert, unicode_id, R"({"u":1})", 0, {}}};
    for (const auto& result : sink->write(ops)) ASSERT_EQ(result.status, OpStatus::Ok) << result.message;

    const auto results = read(*sink, {"1", "never-written", unicode_id, "1"});

    ASSERT_EQ(results.size(), 4U);
    EXPECT_EQ(results[0].status, ReadStatus::Found) << results[0].message;
    // Byte for byte as stored: spacing and 12.50 kept, no re-encoding.
    EXPECT_EQ(results[0].document, pretty);
    EXPECT_EQ(results[0].version, 1U);  // unversioned writes: Elasticsearch's own counter
    EXPECT_EQ(results[1].status, ReadStatus::NotFound);
    EXPECT_TRUE(results[1].document.empty());
    EXPECT_EQ(results[2].status, ReadStatus::Found);
    EXPECT_EQ(results[2].document, R"({"u":1})");
    EXPECT_EQ(results[3].document, pretty);
}

TEST_P(ElasticsearchRead, AVersionedWriteReadsBackWithTheRowVersion) {
    auto sink = open();
    ASSERT_TRUE(sink);
    write_documents(*sink, 3, 1'700'000'000'123ULL);

    const auto results = read(*sink, {"doc-0", "doc-2"});

    ASSERT_EQ(results.size(), 2U);
    EXPECT_EQ(results[0].status, ReadStatus::Found);
    EXPECT_EQ(results[0].version, 1'700'000'000'123ULL);
    EXPECT_EQ(json::parse(results[1].document), json({{"n", 2}}));
}

TEST_P(ElasticsearchRead, IdsNoDocumentCanHaveAreRejectedWithoutTheOthersSuffering) {
    auto sink = open();
    ASSERT_TRUE(sink);
    write_documents(*sink, 1);

    const auto results = read(*sink, {"", std::string(513, 'x'), "bad\xff", "doc-0"});

    ASSERT_EQ(results.size(), 4U);
    EXPECT_EQ(results[0].status, ReadStatus::Reject);
    EXPECT_THAT(results[0].message, HasSubstr("empty"));
    EXPECT_EQ(results[1].status, ReadStatus::Reject);
    EXPECT_THAT(results[1].message, HasSubstr("513 bytes"));
    EXPECT_EQ(results[2].status, ReadStatus::Reject);
    EXPECT_THAT(results[2].message, HasSubstr("UTF-8"));
    EXPECT_EQ(results[3].status, ReadStatus::Found);
}

TEST_P(ElasticsearchRead, ReadingAnIndexThatDoesNotExistFindsNothing) {
    auto sink = open();
    ASSERT_TRUE(sink);

    const auto results = read(*sink, {"a", "b"});

    ASSERT_EQ(results.size(), 2U);
    EXPECT_EQ(results[0].status, ReadStatus::NotFound) << results[0].message;
    EXPECT_EQ(results[1].status, ReadStatus::NotFound);
}

TEST_P(ElasticsearchRead, ListingMoreDocumentsThanAPageGivesEveryIdExactlyOnce) {
    auto sink = open();
    ASSERT_TRUE(sink);
    write_documents(*sink, 2500);
    testing::http("POST", url_ + "/" + index_ + "/_refresh");

    int pages = 0;
    std::string last_cursor;
    const auto seen = list_all(*sink, 1000, pages, &last_cursor);

    EXPECT_EQ(seen.size(), 2500U);
    for (std::size_t i = 0; i < 2500; ++i) {
        const auto it = seen.find("doc-" + std::to_string(i));
        ASSERT_NE(it, seen.end()) << i;
        EXPECT_EQ(it->second, 1) << i;
    }
    EXPECT_GE(pages, 3);
    EXPECT_LE(pages, 4);  // three full pages, then perhaps an empty last one
    // The finished scroll was cleared: its cursor no longer continues.
    auto after = sink->list(last_cursor, 1000);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status, OpStatus::Reject) << after->ids.size();
}

TEST_P(ElasticsearchRead, ListingAnEmptyOrMissingIndexIsOneEmptyLastPage) {
    auto sink = open();
    ASSERT_TRUE(sink);
    auto missing = sink->list({}, 100);
    ASSERT_TRUE(missing);
    EXPECT_TRUE(missing->is_last()) << missing->message;
    EXPECT_TRUE(missing->ids.empty());

    ASSERT_EQ(testing::http("PUT", url_ + "/" + index_).status, 200);
    int pages = 0;
    EXPECT_TRUE(list_all(*sink, 100, pages).empty());
    EXPECT_LE(pages, 2);
}

TEST_P(ElasticsearchRead, ACursorThatIsNotThisSinksOrWhoseScrollIsGoneIsRejected) {
    auto sink = open();
    ASSERT_TRUE(sink);
    write_documents(*sink, 5);
    testing::http("POST", url_ + "/" + index_ + "/_refresh");

    auto foreign = sink->list("metadump:0:1:2", 10);
    ASSERT_TRUE(foreign);
    EXPECT_EQ(foreign->status, OpStatus::Reject);

    auto first = sink->list({}, 2);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, OpStatus::Ok) << first->message;
    ASSERT_FALSE(first->next_cursor.empty());
    auto wider = sink->list(first->next_cursor, 1);  // pages smaller than the scroll's
    ASSERT_TRUE(wider);
    EXPECT_EQ(wider->status, OpStatus::Reject);
    const std::string scroll_id = first->next_cursor.substr(first->next_cursor.find(':', 7) + 1);
    testing::http("DELETE", url_ + "/_search/scroll", json{{"scroll_id", scroll_id}}.dump());
    auto expired = sink->list(first->next_cursor, 2);
    ASSERT_TRUE(expired);
    EXPECT_EQ(expired->status, OpStatus::Reject);
    EXPECT_THAT(expired->message, HasSubstr("list again from the start"));
}

TEST_P(ElasticsearchRead, ADeadlineAlreadyPassedReadsAndListsNothing) {
    auto proxy = testing::TcpProxy::for_url(url_);
    proxy->start();
    auto sink = open(json::object(), proxy->url());
    ASSERT_TRUE(sink);
    const WriteControl passed{Clock::now() - milliseconds(1), nullptr};

    const auto results = read(*sink, {"a"}, passed);
    auto page = sink->list({}, 10, {}, passed);

    ASSERT_EQ(results.size(), 1U);
    EXPECT_EQ(results[0].status, ReadStatus::Retry);
    EXPECT_THAT(results[0].message, HasSubstr("deadline"));
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, OpStatus::Retry);
    EXPECT_EQ(proxy->connections_accepted(), 0U);
}

TEST_P(ElasticsearchRead, AHungServerGivesRetryByTheDeadline) {
    auto proxy = testing::TcpProxy::for_url(url_);
    proxy->start();
    auto sink = open({{"request_timeout_ms", 60000}}, proxy->url());
    ASSERT_TRUE(sink);
    proxy->pause(true);

    auto started = Clock::now();
    const auto results = read(*sink, {"a", "b"}, WriteControl{started + milliseconds(500), nullptr});
    auto took = Clock::now() - started;
    EXPECT_GE(took, milliseconds(450));
    EXPECT_LT(took, milliseconds(1500));
    ASSERT_EQ(results.size(), 2U);
    EXPECT_EQ(results[0].status, ReadStatus::Retry);
    EXPECT_THAT(results[0].message, HasSubstr("deadline passed"));

    started = Clock::now();
    auto page = sink->list({}, 10, {}, WriteControl{started + milliseconds(500), nullptr});
    took = Clock::now() - started;
    EXPECT_LT(took, milliseconds(1500));
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, OpStatus::Retry);
    EXPECT_THAT(page->message, HasSubstr("deadline passed"));
    proxy->pause(false);
}

INSTANTIATE_TEST_SUITE_P(Servers, ElasticsearchRead,
                         ::testing::ValuesIn(::indexer::testing::search_servers()),
                         ::indexer::testing::search_server_name);

}  // namespace
}  // namespace indexer
