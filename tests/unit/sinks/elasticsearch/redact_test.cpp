#include "indexer/sinks/elasticsearch/redact.hpp"

#include <gtest/gtest.h>

namespace indexer::sinks::elasticsearch {
namespace {

TEST(Redact, UrlsLoseTheirCredentials) {
    EXPECT_EQ(redact_url("https://elastic:changeme@es.example.com:9200/prefix"),
              "https://***@es.example.com:9200/prefix");
    EXPECT_EQ(redact_url("http://token@localhost"), "http://***@localhost");
    EXPECT_EQ(redact_url("http://127.0.0.1:9200/_bulk?x=a@b"), "http://127.0.0.1:9200/_bulk?x=a@b");
    EXPECT_EQ(redact_url("not a url"), "not a url");
}

TEST(Redact, SecretsAndUrlCredentialsVanishFromFreeText) {
    const Redactor redact({"hunter2-password", "abc", "ApiKeyValue=="});
    EXPECT_EQ(redact("POST http://user:hunter2-password@h:9200/_bulk: Couldn't connect (to h port 9200)"),
              "POST http://***@h:9200/_bulk: Couldn't connect (to h port 9200)");
    EXPECT_EQ(redact("header ApiKey ApiKeyValue== refused; key=ApiKeyValue=="),
              "header ApiKey *** refused; key=***");
    // Secrets shorter than four bytes would mangle ordinary words.
    EXPECT_EQ(redact("abcdef"), "abcdef");
    EXPECT_EQ(redact("see 'https://a:b@c' and \"http://d@e/f\""),
              "see 'https://***@c' and \"http://***@e/f\"");
}

TEST(Redact, ParseUrlSplitsTheParts) {
    ParsedUrl url;
    ASSERT_TRUE(parse_url("HTTPS://u:p@[::1]:9200/es/", url));
    EXPECT_EQ(url.scheme, "https");
    EXPECT_TRUE(url.has_userinfo);
    EXPECT_EQ(url.userinfo, "u:p");
    EXPECT_EQ(url.host_port, "[::1]:9200");
    EXPECT_EQ(url.path, "/es");
    EXPECT_FALSE(parse_url("http://:9200", url));
    EXPECT_FALSE(parse_url("http://host:0", url));
    EXPECT_FALSE(parse_url("http://host:abc", url));
    EXPECT_FALSE(parse_url("http://host/x#frag", url));
    EXPECT_FALSE(parse_url("ftp://host", url));
    EXPECT_FALSE(parse_url("host:9200", url));
}

TEST(Redact, PercentDecodingRefusesBrokenEscapes) {
    std::string out;
    EXPECT_TRUE(percent_decode("a%40b%3A", out));
    EXPECT_EQ(out, "a@b:");
    EXPECT_FALSE(percent_decode("a%4", out));
    EXPECT_FALSE(percent_decode("a%zz", out));
}

}  // namespace
}  // namespace indexer::sinks::elasticsearch
