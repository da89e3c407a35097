#include <indexer/plugin/sink_plugin.hpp>

#include "test_plugins.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <string>
#include <vector>

using indexer::plugin::SinkPlugin;
using indexer::testing::ScratchDirectory;
using indexer::testing::test_plugin;
using testing::HasSubstr;

namespace {

// A plugin that must not load, and what the error must say besides its path.
struct BrokenPlugin {
    std::string name;
    std::vector<std::string> expected_in_message;
};

std::string major_text(int delta) {
    return std::to_string(INDEXER_SINK_ABI_MAJOR + delta);
}
std::string minor_text(int delta) {
    return std::to_string(INDEXER_SINK_ABI_MINOR + delta);
}

std::vector<BrokenPlugin> broken_plugins() {
    const std::string table_size = std::to_string(sizeof(indexer_sink_functions));
    return {
        {"broken_no_magic", {"symbol indexer_sink_magic is missing", "expected the entry symbol"}},
        {"broken_no_init",
         {"symbol indexer_sink_init_v1 is missing", "expected it next to indexer_sink_magic"}},
        {"broken_wrong_major",
         {"indexer_sink_info.abi_major is " + major_text(1) + ", expected " + major_text(0),
          "rebuild the plugin"}},
        {"broken_newer_minor",
         {"indexer_sink_info.abi_minor is " + minor_text(1) + ", expected at most " + minor_text(0),
          "upgrade the indexer"}},
        {"broken_minor_99",
         {"indexer_sink_info.abi_minor is 99, expected at most " + minor_text(0),
          "the plugin needs sink ABI " + major_text(0) + ".99, this indexer speaks " + major_text(0) + "." +
              minor_text(0)}},
        {"broken_small_info",
         {"indexer_sink_info.struct_size is 8, expected at least " +
          std::to_string(offsetof(indexer_sink_info, plugin_version) + sizeof(const char*))}},
        {"broken_bad_name",
         {"indexer_sink_info.plugin_name is \"Broken_Bad_Name\"", "expected a name matching"}},
        {"broken_init_fails", {"indexer_sink_init_v1 returned 7, expected 0"}},
        {"broken_no_write", {"indexer_sink_functions.write is NULL, expected a function"}},
        {"broken_oversized_table",
         {"indexer_sink_functions.struct_size is " + std::to_string(sizeof(indexer_sink_functions) + 64) +
          ", expected at most " + table_size}},
        {"broken_undefined_symbol",
         {"cannot load the shared object", "indexer_test_function_that_no_library_defines"}},
    };
}

class BrokenPluginLoad : public testing::TestWithParam<BrokenPlugin> {};

TEST_P(BrokenPluginLoad, FailsWithAMessageNamingTheFileTheFieldFoundAndExpected) {
    const BrokenPlugin& broken = GetParam();
    const auto path = test_plugin(broken.name);
    ASSERT_TRUE(std::filesystem::exists(path)) << path;

    const auto plugin = SinkPlugin::load(path);

    ASSERT_FALSE(plugin.is_ok());
    EXPECT_THAT(plugin.error(), HasSubstr(path.string()));
    for (const auto& expected : broken.expected_in_message) EXPECT_THAT(plugin.error(), HasSubstr(expected));
}

INSTANTIATE_TEST_SUITE_P(EveryLoadErrorPath, BrokenPluginLoad, testing::ValuesIn(broken_plugins()),
                         [](const testing::TestParamInfo<BrokenPlugin>& param) { return param.param.name; });

TEST(SinkPluginLoad, ReportsTheDeclaredNameVersionAbiAndPath) {
    const auto plugin = SinkPlugin::load(test_plugin("test_recorder"));

    ASSERT_TRUE(plugin.is_ok()) << plugin.error();
    const auto& info = plugin.value()->info();
    EXPECT_EQ(info.name, "test_recorder");
    EXPECT_EQ(info.version, "1.2.3");
    EXPECT_EQ(info.abi_major, INDEXER_SINK_ABI_MAJOR);
    EXPECT_EQ(info.abi_minor, INDEXER_SINK_ABI_MINOR);
    EXPECT_EQ(info.path, test_plugin("test_recorder"));
    EXPECT_TRUE(plugin.value()->has_flush());
    EXPECT_TRUE(plugin.value()->has_health());
    EXPECT_TRUE(plugin.value()->has_write_control());
}

TEST(SinkPluginLoad, LoadsAPluginBuiltForAbi10WithoutWriteControl) {
    const auto plugin = SinkPlugin::load(test_plugin("test_abi_1_0"));

    ASSERT_TRUE(plugin.is_ok()) << plugin.error();
    EXPECT_EQ(plugin.value()->info().abi_major, 1);
    EXPECT_EQ(plugin.value()->info().abi_minor, 0);
    EXPECT_FALSE(plugin.value()->has_write_control());
    EXPECT_FALSE(plugin.value()->has_flush());
}

TEST(SinkPluginLoad, LoadsAndInitialisesAFileOnceWhileItIsInUse) {
    const auto first = SinkPlugin::load(test_plugin("test_raw"));
    const auto second = SinkPlugin::load(test_plugin("test_raw"));

    ASSERT_TRUE(first.is_ok()) << first.error();
    ASSERT_TRUE(second.is_ok()) << second.error();
    EXPECT_EQ(first.value().get(), second.value().get());
}

TEST(SinkPluginLoad, TreatsFunctionsBeyondTheTableSizeAsAbsent) {
    // The plugin fills flush and health but reports a table that ends at close.
    const auto plugin = SinkPlugin::load(test_plugin("test_short_table"));

    ASSERT_TRUE(plugin.is_ok()) << plugin.error();
    EXPECT_FALSE(plugin.value()->has_flush());
    EXPECT_FALSE(plugin.value()->has_health());
    EXPECT_FALSE(plugin.value()->has_write_control());
}

TEST(SinkPluginLoad, NamesAMissingFile) {
    ScratchDirectory scratch;
    const auto path = scratch.path() / "indexer-sink-nowhere.so";

    const auto plugin = SinkPlugin::load(path);

    ASSERT_FALSE(plugin.is_ok());
    EXPECT_THAT(plugin.error(), HasSubstr(path.string()));
    EXPECT_THAT(plugin.error(), HasSubstr("No such file or directory"));
}

TEST(SinkPluginLoad, RefusesAFileThatIsNotASharedObject) {
    ScratchDirectory scratch;
    const auto path = scratch.path() / "indexer-sink-text.so";
    std::ofstream(path) << "this is not an ELF file\n";

    const auto plugin = SinkPlugin::load(path);

    ASSERT_FALSE(plugin.is_ok());
    EXPECT_THAT(plugin.error(), HasSubstr(path.string()));
    EXPECT_THAT(plugin.error(), HasSubstr("cannot load the shared object"));
}

TEST(SinkPluginLoad, RefusesADirectory) {
    ScratchDirectory scratch;

    const auto plugin = SinkPlugin::load(scratch.path());

    ASSERT_FALSE(plugin.is_ok());
    EXPECT_THAT(plugin.error(), HasSubstr("not a regular file"));
}

}  // namespace
