#include <indexer/config/loader.hpp>
#include <indexer/config/reference.hpp>

#include "fake_environment.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using indexer::config::configuration_reference_markdown;
using indexer::config::parse_config;
using indexer::config::testing::fake_environment;
using ::testing::HasSubstr;

TEST(ConfigurationReference, DocsFileMatchesTheDeclarations) {
    const std::filesystem::path committed =
        std::filesystem::path(INDEXER_SOURCE_DIR) / "docs" / "configuration.md";
    std::ifstream in(committed, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const std::string expected = configuration_reference_markdown();
    if (text.str() != expected) {
        const std::filesystem::path fresh =
            std::filesystem::path(INDEXER_BINARY_DIR) / "docs" / "configuration.md";
        std::filesystem::create_directories(fresh.parent_path());
        std::ofstream(fresh, std::ios::binary) << expected;
        FAIL() << committed << " is stale (the key declarations changed). Fresh text written to " << fresh
               << "; run: cp " << fresh << " " << committed;
    }
}

TEST(ConfigurationReference, DocumentsEveryKeyWithItsDefault) {
    const std::string reference = configuration_reference_markdown();
    EXPECT_THAT(reference, HasSubstr("| `kafka.brokers` | string (host:port,...) | yes |  |"));
    EXPECT_THAT(reference,
                HasSubstr("| `pipelines[].batch.max_messages` | integer (1–100000) | no | `1000` |"));
    EXPECT_THAT(reference, HasSubstr("| `pipelines[].batch.max_wait` | duration (1ms–1m) | no | `500ms` |"));
    EXPECT_THAT(reference,
                HasSubstr("| `pipelines[].dead_letter_topic` | topic name | no | `<topic>-dead-letter` |"));
    EXPECT_THAT(reference, HasSubstr("| `delayers[].delay` | duration (0s–7d) | no | `5m` |"));
    EXPECT_THAT(reference,
                HasSubstr("| `logging.level` | one of: trace, debug, info, warn, error | no | `info` |"));
    EXPECT_THAT(reference, HasSubstr("| `http.listen` | address (host:port) | no | `127.0.0.1:9464` |"));
    EXPECT_THAT(reference, HasSubstr("* Exactly one of `table` and `query` is given."));
}

TEST(ConfigurationReference, ItsExampleLoads) {
    const std::string reference = configuration_reference_markdown();
    const std::size_t heading = reference.find("## A complete small example");
    ASSERT_NE(heading, std::string::npos);
    const std::size_t start = reference.find("```yaml\n", heading);
    ASSERT_NE(start, std::string::npos);
    const std::size_t end = reference.find("```\n", start + 8);
    ASSERT_NE(end, std::string::npos);
    const auto config = parse_config(std::string_view(reference).substr(start + 8, end - start - 8),
                                     "example", fake_environment());
    EXPECT_TRUE(config.is_ok()) << config.error();
}
