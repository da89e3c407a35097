// Reading memcached back through the sink plugin (sink ABI 1.2: read and
// list), loaded like the indexer loads it, against the shared memcached of
// the test services; a hung server is a TCP proxy that forwards nothing.
// Every test keeps to its own key prefix: the listing skips other keys.
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/plugin/sink_plugin.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/tcp_proxy.hpp"
#include "support/test_services.hpp"

namespace indexer {
namespace {

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

class MemcachedRead : public ::testing::Test {
protected:
    void SetUp() override {
        INDEXER_REQUIRE_SERVICE(server, "INDEXER_TEST_MEMCACHED");
        server_ = server;
        prefix_ = testing::unique_name("mcread") + ":";
        auto loaded = SinkPlugin::load(std::string(INDEXER_PLUGIN_BUILD_DIR) + "/indexer-sink-memcached.so");
        ASSERT_TRUE(loaded) << loaded.error() << " (build the target indexer_sink_memcached first)";
        plugin_ = loaded.value();
    }

    std::optional<SinkHandle> open(const std::string& server = {}) {
        auto handle =
            plugin_->open("memcached-read-test", R"({"servers": [")" + (server.empty() ? server_ : server) +
                                                     R"("], "prefix": ")" + prefix_ +
                                                     R"(", "key_template": "product:{id}"})");
        if (!handle) {
            ADD_FAILURE() << handle.error();
            return std::nullopt;
        }
        return std::move(handle.value());
    }

    void write(SinkHandle& sink, const std::vector<std::string>& ids) {
        std::vector<std::string> documents;
        for (const auto& id : ids) documents.push_back(R"({"id":")" + id + R"(","name":"Crème ☕"})");
        std::vector<SinkOp> ops;
        for (std::size_t i = 0; i < ids.size(); ++i)
            ops.push_back({OpKind::Upsert, ids[i], documents[i], 7, {}});
        for (const auto& result : sink.write(ops)) ASSERT_EQ(result.status, OpStatus::Ok) << result.message;
    }

    std::vector<ReadResult> read(SinkHandle& sink, const std::vector<std::string>& ids,
                                 const WriteControl& control = {}) {
        const std::vector<std::string_view> views(ids.begin(), ids.end());
        auto results = sink.read(views, {}, control);
        EXPECT_TRUE(results) << results.error();
        return results ? std::move(results).value() : std::vector<ReadResult>{};
    }

    std::string server_;
    std::string prefix_;
    std::shared_ptr<const SinkPlugin> plugin_;
};

TEST_F(MemcachedRead, WrittenValuesReadBackAsTheDocumentAndOthersAreNotFound) {
    auto sink = open();
    ASSERT_TRUE(sink);
    const std::string long_id(300, 'x');  // stored under its hashed key
    write(*sink, {"1", "caf\xc3\xa9", long_id});

    const auto results = read(*sink, {"1", "2", "caf\xc3\xa9", long_id, "1"});

    ASSERT_EQ(results.size(), 5U);
    EXPECT_EQ(results[0].status, ReadStatus::Found) << results[0].message;
    EXPECT_EQ(results[0].document, R"({"id":"1","name":"Crème ☕"})");
    EXPECT_EQ(results[0].version, 0U);  // memcached keeps no version
    EXPECT_EQ(results[1].status, ReadStatus::NotFound);
    EXPECT_EQ(results[2].document, R"({"id":"café","name":"Crème ☕"})");
    EXPECT_EQ(results[3].status, ReadStatus::Found);
    EXPECT_EQ(results[4].document, results[0].document);
}

TEST_F(MemcachedRead, AnIdThatMakesNoKeyIsRejectedWithoutTheOthersSuffering) {
    auto sink = open();
    ASSERT_TRUE(sink);
    write(*sink, {"1"});

    const auto results = read(*sink, {"", "1"});

    ASSERT_EQ(results.size(), 2U);
    EXPECT_EQ(results[0].status, ReadStatus::Reject);
    EXPECT_THAT(results[0].message, HasSubstr("empty id"));
    EXPECT_EQ(results[1].status, ReadStatus::Found);
}

TEST_F(MemcachedRead, ListingMoreKeysThanAPageGivesEveryIdOnceAndCountsHashedKeys) {
    auto sink = open();
    ASSERT_TRUE(sink);
    std::vector<std::string> ids;
    for (int i = 0; i < 2500; ++i) ids.push_back("doc-" + std::to_string(i));
    write(*sink, ids);
    write(*sink, {std::string(300, 'y')});

    std::map<std::string, int> seen;
    std::uint64_t unlisted = 0;
    std::string cursor;
    int pages = 0;
    do {
        auto page = sink->list(cursor, 1000);
        ASSERT_TRUE(page) << page.error();
        ASSERT_EQ(page->status, OpStatus::Ok) << page->message;
        EXPECT_LE(page->ids.size(), 1000U);
        for (const auto& id : page->ids) ++seen[id];
        unlisted += page->unlisted;
        cursor = page->next_cursor;
    } while (!cursor.empty() && ++pages < 100);

    EXPECT_EQ(seen.size(), 2500U);
    for (const auto& id : ids) EXPECT_EQ(seen[id], 1) << id;
    EXPECT_EQ(unlisted, 1U);
}

TEST_F(MemcachedRead, ListingAPrefixWithoutKeysIsOneEmptyLastPage) {
    auto sink = open();
    ASSERT_TRUE(sink);

    auto page = sink->list({}, 100);

    ASSERT_TRUE(page);
    EXPECT_TRUE(page->is_last()) << page->message;
    EXPECT_TRUE(page->ids.empty());
}

TEST_F(MemcachedRead, ACursorOnlyContinuesOnTheHandleThatReadTheDump) {
    auto sink = open();
    auto other = open();
    ASSERT_TRUE(sink && other);
    write(*sink, {"a", "b", "c"});
    auto first = sink->list({}, 1);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, OpStatus::Ok) << first->message;
    ASSERT_FALSE(first->next_cursor.empty());

    auto elsewhere = other->list(first->next_cursor, 1);
    auto garbage = sink->list("scroll:10:abc", 1);
    auto here = sink->list(first->next_cursor, 1);

    ASSERT_TRUE(elsewhere && garbage && here);
    EXPECT_EQ(elsewhere->status, OpStatus::Reject);
    EXPECT_THAT(elsewhere->message, HasSubstr("list again from the start"));
    EXPECT_EQ(garbage->status, OpStatus::Reject);
    EXPECT_EQ(here->status, OpStatus::Ok) << here->message;
}

TEST_F(MemcachedRead, ADeadlineAlreadyPassedReadsAndListsNothing) {
    auto proxy = testing::TcpProxy::for_url(server_);
    proxy->start();
    auto sink = open("127.0.0.1:" + std::to_string(proxy->port()));
    ASSERT_TRUE(sink);
    const WriteControl passed{Clock::now() - milliseconds(1), nullptr};

    const auto results = read(*sink, {"a"}, passed);
    auto page = sink->list({}, 10, {}, passed);

    ASSERT_EQ(results.size(), 1U);
    EXPECT_EQ(results[0].status, ReadStatus::Retry);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, OpStatus::Retry);
    EXPECT_EQ(proxy->connections_accepted(), 0U);
}

TEST_F(MemcachedRead, AHungServerGivesRetryByTheDeadline) {
    auto proxy = testing::TcpProxy::for_url(server_);
    proxy->start();
    proxy->pause(true);
    auto sink = open("127.0.0.1:" + std::to_string(proxy->port()));
    ASSERT_TRUE(sink);

    auto started = Clock::now();
    const auto results = read(*sink, {"a", "b"}, WriteControl{started + milliseconds(500), nullptr});
    auto took = Clock::now() - started;
    EXPECT_GE(took, milliseconds(450));
    EXPECT_LT(took, milliseconds(1500));
    ASSERT_EQ(results.size(), 2U);
    EXPECT_EQ(results[0].status, ReadStatus::Retry);
    EXPECT_THAT(results[0].message, HasSubstr("not read: the write's deadline passed"));

    started = Clock::now();
    auto page = sink->list({}, 10, {}, WriteControl{started + milliseconds(500), nullptr});
    took = Clock::now() - started;
    EXPECT_GE(took, milliseconds(450));
    EXPECT_LT(took, milliseconds(1500));
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, OpStatus::Retry);
    EXPECT_THAT(page->message, HasSubstr("deadline passed"));
    proxy->pause(false);
}

}  // namespace
}  // namespace indexer
