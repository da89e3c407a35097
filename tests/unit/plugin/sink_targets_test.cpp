// Reindex targets through the ABI (1.3): the SDK's glue (in this process: a
// Sink subclass behind the function table INDEXER_SINK_PLUGIN would export)
// and the host's SinkHandle with plugins that cannot.
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/plugin/sink_plugin.hpp>
#include <indexer/sink.hpp>

#include "test_plugins.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>

// What INDEXER_SINK_PLUGIN defines in a plugin; this suite calls the glue directly.
const indexer_host_api* indexer::sdk::detail::plugin_host = nullptr;

namespace {

namespace sdk = indexer::sdk;
using indexer::plugin::SinkHandle;
using indexer::plugin::SinkPlugin;
using indexer::testing::test_plugin;
using testing::HasSubstr;

SinkHandle open(const std::string& name) {
    auto plugin = SinkPlugin::load(test_plugin(name));
    if (!plugin) throw std::runtime_error(plugin.error());
    auto handle = plugin.value()->open("reindex-pipeline", "{}");
    if (!handle) throw std::runtime_error(handle.error());
    return std::move(handle).value();
}

class WriteOnly : public sdk::Sink {
public:
    WriteOnly(std::string_view /*instance*/, std::string_view /*config*/) {}
    void write(std::span<const sdk::Op> /*ops*/, sdk::Results& /*results*/) override {}
};

// Answers from what it is asked: suffix "throw" throws, "retry" retries...
class WithTargets : public WriteOnly {
public:
    using WriteOnly::WriteOnly;
    void create_target(std::string_view suffix, sdk::TargetResult& result,
                       const sdk::WriteControl& /*control*/) override {
        if (suffix == "throw") throw std::runtime_error("boom");
        if (suffix == "retry") return result.retry("later", 503);
        if (suffix == "silent") return;
        result.ok("idx-" + std::string(suffix), 200);
    }
    void switch_target(std::string_view target, bool keep_old, sdk::TargetResult& result,
                       const sdk::WriteControl& /*control*/) override {
        if (target == "missing") return result.reject("no such index", 404);
        result.ok(keep_old ? "kept" : "deleted", 200, target == "warn" ? "could not delete" : "");
    }
};

struct Table {
    explicit Table(int (*init)(const indexer_host_api*, indexer_sink_functions*)) {
        functions.struct_size = sizeof(functions);
        EXPECT_EQ(init(nullptr, &functions), 0);
        EXPECT_EQ(functions.open("p", "{}", 2, &handle, nullptr, 0), 0);
    }
    ~Table() { functions.close(handle); }
    Table(const Table&) = delete;
    Table& operator=(const Table&) = delete;

    indexer_sink_create_target_result create(std::string_view suffix,
                                             const indexer_sink_write_control* control) {
        indexer_sink_create_target_request request{};
        request.struct_size = sizeof(request);
        request.suffix = indexer_str{suffix.data(), suffix.size()};
        indexer_sink_create_target_result result{};
        result.struct_size = sizeof(result);
        functions.create_target(handle, &request, &result, control);
        return result;
    }
    indexer_sink_switch_target_result switch_to(std::string_view target, std::uint32_t keep_old) {
        indexer_sink_switch_target_request request{};
        request.struct_size = sizeof(request);
        request.target = indexer_str{target.data(), target.size()};
        request.keep_old = keep_old;
        indexer_sink_switch_target_result result{};
        result.struct_size = sizeof(result);
        functions.switch_target(handle, &request, &result, &no_limit);
        return result;
    }

    indexer_sink_functions functions{};
    indexer_sink_handle* handle = nullptr;
    indexer_sink_write_control no_limit{sizeof(indexer_sink_write_control), 0, INDEXER_SINK_NO_DEADLINE,
                                        nullptr, nullptr};
};

std::string_view text(indexer_plugin_str s) {
    return s.size == 0 ? std::string_view{} : std::string_view{s.data, s.size};
}

TEST(SdkTargets, OfferedOnlyWhenTheSinkOverridesThem) {
    Table without(&sdk::detail::init<WriteOnly>);
    Table with(&sdk::detail::init<WithTargets>);
    EXPECT_EQ(without.functions.create_target, nullptr);
    EXPECT_EQ(without.functions.switch_target, nullptr);
    EXPECT_NE(with.functions.create_target, nullptr);
    EXPECT_NE(with.functions.switch_target, nullptr);
}

TEST(SdkTargets, CreateTargetLendsTheNameAndMessages) {
    Table sink(&sdk::detail::init<WithTargets>);

    const auto created = sink.create("t1", &sink.no_limit);
    EXPECT_EQ(created.status, INDEXER_SINK_OK);
    EXPECT_EQ(created.native_code, 200);
    EXPECT_EQ(text(created.name), "idx-t1");
    EXPECT_EQ(created.message, nullptr);

    const auto retried = sink.create("retry", &sink.no_limit);
    EXPECT_EQ(retried.status, INDEXER_SINK_RETRY);
    EXPECT_STREQ(retried.message, "later");
    EXPECT_EQ(retried.name.size, 0U);

    const auto thrown = sink.create("throw", &sink.no_limit);
    EXPECT_EQ(thrown.status, INDEXER_SINK_RETRY);
    EXPECT_THAT(thrown.message, HasSubstr("sink threw: boom"));

    const auto silent = sink.create("silent", &sink.no_limit);
    EXPECT_EQ(silent.status, INDEXER_SINK_RETRY);
    EXPECT_THAT(silent.message, HasSubstr("no answer"));
}

TEST(SdkTargets, APassedDeadlineIsRetryWithoutCallingTheSink) {
    Table sink(&sdk::detail::init<WithTargets>);
    indexer_sink_write_control passed = sink.no_limit;
    passed.deadline_ms = 0;

    const auto created = sink.create("t1", &passed);

    EXPECT_EQ(created.status, INDEXER_SINK_RETRY);
    EXPECT_THAT(created.message, HasSubstr("deadline"));
}

TEST(SdkTargets, AShorterResultIsWrittenOnlyAsFarAsItsStructSize) {
    Table sink(&sdk::detail::init<WithTargets>);
    indexer_sink_create_target_request request{};
    request.struct_size = sizeof(request);
    request.suffix = indexer_str{"t1", 2};
    indexer_sink_create_target_result result{};
    result.struct_size = offsetof(indexer_sink_create_target_result, name);
    const char sentinel = 'x';
    result.name = indexer_plugin_str{&sentinel, 1};

    sink.functions.create_target(sink.handle, &request, &result, &sink.no_limit);

    EXPECT_EQ(result.status, INDEXER_SINK_OK);
    EXPECT_EQ(result.name.data, &sentinel);
}

TEST(SdkTargets, SwitchTargetPassesKeepOldAndRefusesOtherValues) {
    Table sink(&sdk::detail::init<WithTargets>);

    EXPECT_EQ(text(sink.switch_to("t", 1).previous), "kept");
    EXPECT_EQ(text(sink.switch_to("t", 0).previous), "deleted");
    const auto warned = sink.switch_to("warn", 0);
    EXPECT_EQ(warned.status, INDEXER_SINK_OK);
    EXPECT_STREQ(warned.message, "could not delete");
    const auto odd = sink.switch_to("t", 2);
    EXPECT_EQ(odd.status, INDEXER_SINK_REJECT);
    EXPECT_THAT(odd.message, HasSubstr("keep_old is 2"));
    EXPECT_EQ(sink.switch_to("", 0).status, INDEXER_SINK_REJECT);
    const auto missing = sink.switch_to("missing", 0);
    EXPECT_EQ(missing.status, INDEXER_SINK_REJECT);
    EXPECT_EQ(missing.native_code, 404);
}

TEST(SinkTargets, APluginBuiltForAnOlderAbiCannotReindexAndTheErrorSaysWhy) {
    SinkHandle sink = open("test_abi_1_0");

    EXPECT_FALSE(sink.has_create_target());
    EXPECT_FALSE(sink.has_switch_target());
    auto created = sink.create_target("t1");
    auto switched = sink.switch_target("x-t1", false);

    ASSERT_FALSE(created);
    EXPECT_THAT(created.error(), HasSubstr("sink 'test_abi_1_0'"));
    EXPECT_THAT(created.error(), HasSubstr("does not support create_target"));
    EXPECT_THAT(created.error(), HasSubstr("built for sink ABI 1.0"));
    EXPECT_THAT(created.error(), HasSubstr("ABI 1.3 or later"));
    ASSERT_FALSE(switched);
    EXPECT_THAT(switched.error(), HasSubstr("does not support switch_target"));
}

TEST(SinkTargets, APluginOfTheCurrentAbiWithoutTargetsSaysItLeavesThemOut) {
    SinkHandle sink = open("test_in_memory_store");

    auto created = sink.create_target("t1");

    ASSERT_FALSE(created);
    EXPECT_THAT(created.error(), HasSubstr("does not support create_target (the plugin leaves it out)"));
}

}  // namespace
