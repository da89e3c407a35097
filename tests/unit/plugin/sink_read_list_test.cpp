// Reading back and listing through the ABI (1.2): the SDK's glue in the
// plugin, the host's SinkHandle, and what happens with plugins that cannot.
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/plugin/sink_plugin.hpp>

#include "test_plugins.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using indexer::plugin::ListPage;
using indexer::plugin::OpKind;
using indexer::plugin::OpStatus;
using indexer::plugin::ReadStatus;
using indexer::plugin::SinkHandle;
using indexer::plugin::SinkOp;
using indexer::plugin::SinkPlugin;
using indexer::plugin::WriteControl;
using indexer::testing::test_plugin;
using Clock = std::chrono::steady_clock;
using testing::HasSubstr;

SinkHandle open(const std::string& name, const std::string& config = "{}") {
    auto plugin = SinkPlugin::load(test_plugin(name));
    if (!plugin) throw std::runtime_error(plugin.error());
    auto handle = plugin.value()->open("verify-pipeline", config);
    if (!handle) throw std::runtime_error(handle.error());
    return std::move(handle).value();
}

// A store holding ids "0".."n-1" as {"n":i} with version i + 100.
SinkHandle store_with(std::size_t n, const std::string& config = "{}") {
    SinkHandle sink = open("test_in_memory_store", config);
    std::vector<std::string> ids;
    std::vector<std::string> documents;
    for (std::size_t i = 0; i < n; ++i) {
        ids.push_back(std::to_string(i));
        documents.push_back("{\"n\":" + std::to_string(i) + "}");
    }
    std::vector<SinkOp> ops;
    for (std::size_t i = 0; i < n; ++i) ops.push_back({OpKind::Upsert, ids[i], documents[i], i + 100, {}});
    for (const auto& result : sink.write(ops)) EXPECT_EQ(result.status, OpStatus::Ok) << result.message;
    return sink;
}

TEST(SinkRead, FoundIdsComeBackWithTheirDocumentAndVersionAndOthersAsNotFound) {
    SinkHandle sink = store_with(3);
    const std::vector<std::string_view> ids = {"2", "missing", "0", "2"};

    auto results = sink.read(ids);

    ASSERT_TRUE(results) << results.error();
    ASSERT_EQ(results->size(), 4U);
    EXPECT_EQ((*results)[0].status, ReadStatus::Found);
    EXPECT_EQ((*results)[0].document, R"({"n":2})");
    EXPECT_EQ((*results)[0].version, 102U);
    EXPECT_EQ((*results)[0].native_code, 200);
    EXPECT_EQ((*results)[1].status, ReadStatus::NotFound);
    EXPECT_TRUE((*results)[1].document.empty());
    EXPECT_EQ((*results)[2].document, R"({"n":0})");
    EXPECT_EQ((*results)[3].document, R"({"n":2})");
}

TEST(SinkRead, ARejectedIdCarriesThePluginsReasonAndTheTargetReachesThePlugin) {
    SinkHandle sink = store_with(1);
    const std::vector<std::string_view> ids = {"", "0"};

    auto plain = sink.read(ids);
    auto targeted = sink.read(ids, "elsewhere");

    ASSERT_TRUE(plain && targeted);
    EXPECT_EQ((*plain)[0].status, ReadStatus::Reject);
    EXPECT_EQ((*plain)[0].message, "the id is empty");
    EXPECT_EQ((*plain)[1].status, ReadStatus::Found);
    EXPECT_EQ((*targeted)[1].status, ReadStatus::NotFound);
}

TEST(SinkRead, AnExceptionInThePluginsReadMakesEveryUnansweredIdRetry) {
    SinkHandle sink = store_with(1);
    const std::vector<std::string_view> ids = {"0", "throw", "0"};

    auto results = sink.read(ids);

    ASSERT_TRUE(results);
    EXPECT_EQ((*results)[0].status, ReadStatus::Found);
    EXPECT_EQ((*results)[1].status, ReadStatus::Retry);
    EXPECT_THAT((*results)[1].message, HasSubstr("sink threw: read was told to throw"));
    EXPECT_EQ((*results)[2].status, ReadStatus::Retry);
}

TEST(SinkRead, ADeadlineAlreadyPassedOrAStopAlreadySetReadsNothing) {
    SinkHandle sink = store_with(1);
    const std::vector<std::string_view> ids = {"0"};
    const std::atomic<bool> stop{true};

    auto late = sink.read(ids, {}, WriteControl{Clock::now() - std::chrono::milliseconds(1), nullptr});
    auto stopped = sink.read(ids, {}, WriteControl{Clock::time_point::max(), &stop});

    ASSERT_TRUE(late && stopped);
    EXPECT_EQ((*late)[0].status, ReadStatus::Retry);
    EXPECT_THAT((*late)[0].message, HasSubstr("read not started: the deadline had passed"));
    EXPECT_EQ((*stopped)[0].status, ReadStatus::Retry);
    EXPECT_THAT((*stopped)[0].message, HasSubstr("the host asked the sink to stop"));
}

TEST(SinkRead, APluginBuiltForAnOlderAbiCannotReadOrListAndTheErrorSaysWhy) {
    SinkHandle sink = open("test_abi_1_0");
    const std::vector<std::string_view> ids = {"1"};

    EXPECT_FALSE(sink.has_read());
    EXPECT_FALSE(sink.has_list());
    auto read = sink.read(ids);
    auto list = sink.list({}, 10);

    ASSERT_FALSE(read);
    EXPECT_THAT(read.error(), HasSubstr("sink 'test_abi_1_0'"));
    EXPECT_THAT(read.error(), HasSubstr("does not support read"));
    EXPECT_THAT(read.error(), HasSubstr("built for sink ABI 1.0"));
    ASSERT_FALSE(list);
    EXPECT_THAT(list.error(), HasSubstr("does not support list"));
}

TEST(SinkRead, APluginOfTheCurrentAbiWithoutReadSaysItLeavesItOut) {
    SinkHandle sink = open("test_raw");

    auto read = sink.read(std::vector<std::string_view>{"1"});

    ASSERT_FALSE(read);
    EXPECT_THAT(read.error(), HasSubstr("does not support read (the plugin leaves it out)"));
}

TEST(SinkList, PagesCoverEveryIdOnceAndTheLastPageHasNoCursor) {
    SinkHandle sink = store_with(25);
    std::multiset<std::string> seen;
    std::string cursor;
    int pages = 0;
    do {
        auto page = sink.list(cursor, 10);
        ASSERT_TRUE(page) << page.error();
        ASSERT_EQ(page->status, OpStatus::Ok) << page->message;
        EXPECT_LE(page->ids.size(), 10U);
        seen.insert(page->ids.begin(), page->ids.end());
        cursor = page->next_cursor;
        ++pages;
    } while (!cursor.empty() && pages < 10);

    EXPECT_EQ(pages, 3);
    ASSERT_EQ(seen.size(), 25U);
    for (std::size_t i = 0; i < 25; ++i) EXPECT_EQ(seen.count(std::to_string(i)), 1U) << i;
}

TEST(SinkList, AnEmptySinkIsOneEmptyLastPage) {
    SinkHandle sink = store_with(0);

    auto page = sink.list({}, 100);

    ASSERT_TRUE(page);
    EXPECT_TRUE(page->is_last());
    EXPECT_TRUE(page->ids.empty());
}

TEST(SinkList, ACursorThePluginRefusesIsRejectWithItsReason) {
    SinkHandle sink = store_with(3);

    auto page = sink.list("not-a-cursor", 10);

    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, OpStatus::Reject);
    EXPECT_EQ(page->message, "not a cursor of this sink");
}

TEST(SinkList, APageLargerThanAskedForIsRetryNotAPageOverTheBound) {
    SinkHandle sink = store_with(3, R"({"overfill": true})");

    auto page = sink.list({}, 2);

    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, OpStatus::Retry);
    EXPECT_THAT(page->message, HasSubstr("more ids than max_ids"));
    EXPECT_TRUE(page->ids.empty());
}

TEST(SinkList, ADeadlineAlreadyPassedListsNothingAndAnEmptyPageBoundIsAnError) {
    SinkHandle sink = store_with(3);

    auto late = sink.list({}, 10, {}, WriteControl{Clock::now() - std::chrono::milliseconds(1), nullptr});
    auto zero = sink.list({}, 0);

    ASSERT_TRUE(late);
    EXPECT_EQ(late->status, OpStatus::Retry);
    EXPECT_THAT(late->message, HasSubstr("list not started"));
    EXPECT_FALSE(zero);
}

}  // namespace
