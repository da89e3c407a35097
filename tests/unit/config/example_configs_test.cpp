// Every file in config/ is a working example: each one must load. The directory
// is globbed, so a new example is covered without touching this test.
#include <indexer/config/loader.hpp>

#include "fake_environment.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace indexer::config;
using indexer::Result;
using indexer::config::testing::fake_environment;
using ::testing::ElementsAre;

namespace {

const std::filesystem::path kConfigDirectory = std::filesystem::path(INDEXER_SOURCE_DIR) / "config";

// The variables the examples need that have no default.
EnvironmentLookup example_environment() {
    return fake_environment({{"KAFKA_USERNAME", "indexer"},
                             {"KAFKA_PASSWORD", "kafka-secret"},
                             {"PGPASSWORD", "pg-secret"},
                             {"ES_USERNAME", "elastic"},
                             {"ES_PASSWORD", "es-secret"}});
}

std::vector<std::filesystem::path> example_files() {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(kConfigDirectory)) {
        const std::string extension = entry.path().extension().string();
        if (entry.is_regular_file() &&
            (extension == ".yaml" || extension == ".yml" || extension == ".json")) {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

TEST(ExampleConfigs, EveryFileInTheConfigDirectoryLoads) {
    const std::vector<std::filesystem::path> files = example_files();
    EXPECT_GE(files.size(), 7U) << "examples went missing from " << kConfigDirectory;
    for (const std::filesystem::path& file : files) {
        const Result<Config> config = load_config(file, example_environment());
        EXPECT_TRUE(config.is_ok()) << config.error();
    }
}

TEST(ExampleConfigs, EveryFileWithoutDefaultsNamesTheVariablesItNeeds) {
    // Without the variables, only the files that document their needs fail.
    for (const std::filesystem::path& file : example_files()) {
        const Result<Config> config = load_config(file, fake_environment());
        if (file.filename() == "secure-elasticsearch.yaml") {
            EXPECT_FALSE(config.is_ok());
        } else {
            EXPECT_TRUE(config.is_ok()) << config.error();
        }
    }
}

TEST(ExampleConfigs, DemoIndexesProductsIntoElasticsearchAndMemcachedWithADelayer) {
    const Result<Config> config = load_config(kConfigDirectory / "demo.yaml", fake_environment());
    ASSERT_TRUE(config.is_ok()) << config.error();
    ASSERT_EQ(config->pipelines.size(), 2U);
    EXPECT_EQ(config->pipelines[0].topic, "products");
    EXPECT_EQ(config->pipelines[0].sink.plugin, "elasticsearch");
    EXPECT_EQ(config->pipelines[1].topic, "products");
    EXPECT_EQ(config->pipelines[1].sink.plugin, "memcached");
    ASSERT_EQ(config->delayers.size(), 1U);
    EXPECT_EQ(config->delayers[0].name, "products-delay");
    EXPECT_EQ(config->delayers[0].target_topic, "products");
    EXPECT_EQ(config->kafka.brokers, "127.0.0.1:9092");
}

TEST(ExampleConfigs, DemoTakesItsEndpointsFromTheEnvironment) {
    const Result<Config> config = load_config(kConfigDirectory / "demo.yaml",
                                              fake_environment({{"INDEXER_KAFKA", "kafka:29092"},
                                                                {"INDEXER_ELASTICSEARCH", "http://es:9200"},
                                                                {"INDEXER_MEMCACHED", "mc:11211"}}));
    ASSERT_TRUE(config.is_ok()) << config.error();
    EXPECT_EQ(config->kafka.brokers, "kafka:29092");
    EXPECT_EQ(config->pipelines.at(0).sink.config["hosts"], nlohmann::json::array({"http://es:9200"}));
    EXPECT_EQ(config->pipelines.at(1).sink.config["servers"], nlohmann::json::array({"mc:11211"}));
}

TEST(ExampleConfigs, JsonExampleLoadsLikeYaml) {
    const Result<Config> config = load_config(kConfigDirectory / "minimal.json", fake_environment());
    ASSERT_TRUE(config.is_ok()) << config.error();
    EXPECT_EQ(config->pipelines.at(0).batch.max_wait, std::chrono::milliseconds{500});
    EXPECT_EQ(config->pipelines.at(0).sink.config["gzip"], false);
    EXPECT_THAT(config->pipelines.at(0).sink.config["hosts"], ElementsAre("http://127.0.0.1:9200"));
}
