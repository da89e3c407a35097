#include <indexer/cli/plugins_command.hpp>
#include <indexer/plugin/plugin_loader.hpp>
#include <indexer/plugin/plugin_search_path.hpp>

#include "test_plugins.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

using indexer::plugin::plugin_search_path;
using indexer::plugin::PluginLoader;
using indexer::testing::ScratchDirectory;
using indexer::testing::test_plugin;
using indexer::testing::test_plugin_dir;
using testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

TEST(PluginLoader, FindsAPluginByNameInTheSearchPath) {
    ScratchDirectory empty;
    const PluginLoader loader({empty.path(), test_plugin_dir()});

    const auto plugin = loader.load("test_recorder");

    ASSERT_TRUE(plugin.is_ok()) << plugin.error();
    EXPECT_EQ(plugin.value()->info().path, test_plugin("test_recorder"));
}

TEST(PluginLoader, TheFirstDirectoryHoldingTheNameWins) {
    ScratchDirectory first;
    const auto copy = first.copy_plugin("test_recorder", "indexer-sink-test_recorder.so");
    const PluginLoader loader({first.path(), test_plugin_dir()});

    const auto plugin = loader.load("test_recorder");

    ASSERT_TRUE(plugin.is_ok()) << plugin.error();
    EXPECT_EQ(plugin.value()->info().path, copy);
}

TEST(PluginLoader, ABrokenPluginFoundFirstIsAnErrorRatherThanSkipped) {
    ScratchDirectory first;
    first.copy_plugin("broken_wrong_major", "indexer-sink-test_recorder.so");
    const PluginLoader loader({first.path(), test_plugin_dir()});

    const auto plugin = loader.load("test_recorder");

    ASSERT_FALSE(plugin.is_ok());
    EXPECT_THAT(plugin.error(), HasSubstr((first.path() / "indexer-sink-test_recorder.so").string()));
    EXPECT_THAT(plugin.error(), HasSubstr("abi_major"));
}

TEST(PluginLoader, LoadsAnExplicitPathWithoutSearching) {
    const PluginLoader loader({});

    const auto plugin = loader.load(test_plugin("test_recorder").string());

    ASSERT_TRUE(plugin.is_ok()) << plugin.error();
    EXPECT_EQ(plugin.value()->name(), "test_recorder");
}

TEST(PluginLoader, TakesAnythingWithASlashOrEndingInSoAsAPath) {
    EXPECT_TRUE(PluginLoader::is_explicit_path("./indexer-sink-x.so"));
    EXPECT_TRUE(PluginLoader::is_explicit_path("plugins/x"));
    EXPECT_TRUE(PluginLoader::is_explicit_path("indexer-sink-x.so"));
    EXPECT_FALSE(PluginLoader::is_explicit_path("elasticsearch"));
}

TEST(PluginLoader, NotFoundNamesTheFileAndEveryDirectorySearched) {
    ScratchDirectory a;
    ScratchDirectory b;
    const PluginLoader loader({a.path(), b.path()});

    const auto plugin = loader.load("nonexistent");

    ASSERT_FALSE(plugin.is_ok());
    EXPECT_THAT(plugin.error(), HasSubstr("indexer-sink-nonexistent.so"));
    EXPECT_THAT(plugin.error(), HasSubstr(a.path().string() + ", " + b.path().string()));
    EXPECT_THAT(plugin.error(), HasSubstr("INDEXER_PLUGIN_PATH"));
}

TEST(PluginLoader, RefusesANameThatIsNeitherANameNorAPath) {
    const PluginLoader loader({test_plugin_dir()});

    const auto plugin = loader.load("Elastic Search");

    ASSERT_FALSE(plugin.is_ok());
    EXPECT_THAT(plugin.error(), HasSubstr("'Elastic Search' is neither a sink plugin name"));
}

TEST(PluginLoader, RefusesAFileWhoseDeclaredNameDiffersFromItsFileName) {
    const PluginLoader loader({test_plugin_dir()});

    const auto plugin = loader.load("broken_misnamed");

    ASSERT_FALSE(plugin.is_ok());
    EXPECT_THAT(plugin.error(), HasSubstr(test_plugin("broken_misnamed").string()));
    EXPECT_THAT(plugin.error(), HasSubstr("plugin_name is \"someone_else\", expected \"broken_misnamed\""));
}

TEST(PluginLoader, ListsEveryPluginFileWithItsInfoOrItsError) {
    const PluginLoader loader({test_plugin_dir()});

    const auto listings = loader.list();

    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(test_plugin_dir())) {
        files += entry.path().filename().string().starts_with("indexer-sink-");
    }
    EXPECT_EQ(listings.size(), files);
    bool saw_recorder = false;
    bool saw_wrong_major = false;
    for (const auto& listing : listings) {
        if (listing.name == "test_recorder") {
            saw_recorder = true;
            ASSERT_TRUE(listing.loaded()) << listing.error;
            EXPECT_EQ(listing.info->version, "1.2.3");
        }
        if (listing.name == "broken_wrong_major") {
            saw_wrong_major = true;
            EXPECT_FALSE(listing.loaded());
            EXPECT_THAT(listing.error, HasSubstr("abi_major"));
        }
    }
    EXPECT_TRUE(saw_recorder);
    EXPECT_TRUE(saw_wrong_major);
}

TEST(PluginLoader, ListingMarksAPluginShadowedByAnEarlierDirectory) {
    ScratchDirectory first;
    const auto copy = first.copy_plugin("test_recorder", "indexer-sink-test_recorder.so");
    const PluginLoader loader({first.path(), test_plugin_dir()});

    const auto listings = loader.list();

    std::size_t recorders = 0;
    for (const auto& listing : listings) {
        if (listing.name != "test_recorder") continue;
        ++recorders;
        if (listing.path == copy) {
            EXPECT_TRUE(listing.shadowed_by.empty());
        } else {
            EXPECT_EQ(listing.shadowed_by, copy);
        }
    }
    EXPECT_EQ(recorders, 2U);
}

TEST(PluginSearchPath, OrdersConfigThenEnvironmentThenNextToTheBinary) {
    const fs::path executable = "/opt/indexer/bin/indexer";

    const auto dirs = plugin_search_path({"/etc/indexer/plugins"}, "/a:/b/", executable);

    ASSERT_GE(dirs.size(), 4U);
    EXPECT_EQ(dirs[0], "/etc/indexer/plugins");
    EXPECT_EQ(dirs[1], "/a");
    EXPECT_EQ(dirs[2], "/b");
    EXPECT_EQ(dirs[3],
              (fs::path("/opt/indexer/bin") / INDEXER_PLUGIN_RELATIVE_DIR_FOR_TESTS).lexically_normal());
    EXPECT_EQ(dirs.size(), 4U) << "an installed binary must not search the build tree";
}

TEST(PluginSearchPath, SkipsEmptyEntriesAndDuplicates) {
    const auto dirs = plugin_search_path({"/a", "/a/"}, "::/a:/b::", fs::path{});

    EXPECT_EQ(dirs, (std::vector<fs::path>{"/a", "/b"}));
}

TEST(PluginSearchPath, ABinaryOfTheBuildTreeAlsoSearchesTheBuildTreesPluginDirectory) {
    const auto dirs = plugin_search_path({}, "", fs::path(INDEXER_BINARY_DIR) / "indexer" / "indexer");

    ASSERT_FALSE(dirs.empty());
    EXPECT_EQ(dirs.back(), fs::path(INDEXER_PLUGIN_BUILD_DIR));
}

TEST(PluginSearchPath, ReadsIndexerPluginPathFromTheEnvironment) {
    const char* previous = std::getenv("INDEXER_PLUGIN_PATH");
    const std::string saved = previous == nullptr ? "" : previous;
    ::setenv("INDEXER_PLUGIN_PATH", "/from/env/one:/from/env/two", 1);

    const auto dirs = plugin_search_path({"/from/config"});

    if (previous == nullptr) {
        ::unsetenv("INDEXER_PLUGIN_PATH");
    } else {
        ::setenv("INDEXER_PLUGIN_PATH", saved.c_str(), 1);
    }
    ASSERT_GE(dirs.size(), 3U);
    EXPECT_EQ(dirs[0], "/from/config");
    EXPECT_EQ(dirs[1], "/from/env/one");
    EXPECT_EQ(dirs[2], "/from/env/two");
}

TEST(PluginsCommand, ListsNameVersionAbiAndPathAndTheErrorsOfBrokenPlugins) {
    std::ostringstream out;

    const int status = indexer::cli::run_plugins_command({test_plugin_dir().string()}, out);

    EXPECT_EQ(status, 1) << "broken plugins in the path make the command fail";
    const std::string text = out.str();
    EXPECT_THAT(text, HasSubstr(test_plugin_dir().string()));
    const std::string abi =
        std::to_string(INDEXER_SINK_ABI_MAJOR) + "\\." + std::to_string(INDEXER_SINK_ABI_MINOR);
    EXPECT_THAT(text, testing::ContainsRegex("test_recorder +1\\.2\\.3 +" + abi + " +" +
                                             test_plugin("test_recorder").string()));
    // A plugin built for an older minor is listed with the ABI it was built for.
    EXPECT_THAT(text, testing::ContainsRegex("test_abi_1_0 +1\\.0\\.0 +1\\.0 +" +
                                             test_plugin("test_abi_1_0").string()));
    EXPECT_THAT(text, HasSubstr("error: indexer_sink_info.abi_major is"));
}

TEST(PluginsCommand, SucceedsWhenEveryPluginFoundLoads) {
    ScratchDirectory dir;
    dir.copy_plugin("test_recorder", "indexer-sink-test_recorder.so");
    std::ostringstream out;

    const int status = indexer::cli::run_plugins_command({dir.path().string()}, out);

    // The build tree's own plugin directory is searched too; its plugins must load.
    EXPECT_EQ(status, 0) << out.str();
    EXPECT_THAT(out.str(), HasSubstr((dir.path() / "indexer-sink-test_recorder.so").string()));
}

}  // namespace
