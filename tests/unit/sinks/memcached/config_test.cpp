#include "indexer/sinks/memcached/config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace indexer::memcached_sink {
namespace {

std::string error_of(std::string_view json) {
    try {
        parse_config(json);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

TEST(MemcachedConfig, ReadsEveryKey) {
    const Config config = parse_config(R"({
        "servers": ["cache1:11211", {"address": "[::1]:11212", "weight": 3}],
        "distribution": "ketama_weighted",
        "prefix": "shop1:",
        "key_template": "product:{id}",
        "hash_with_prefix": true,
        "ttl_seconds": 3600,
        "max_value_bytes": 2048,
        "connect_timeout_ms": 250,
        "io_timeout_ms": 1500,
        "dead_server_retry_ms": 3000
    })");
    ASSERT_EQ(config.servers.size(), 2U);
    EXPECT_EQ(config.servers[0].host, "cache1");
    EXPECT_EQ(config.servers[0].port, 11211);
    EXPECT_EQ(config.servers[0].weight, 1U);
    EXPECT_EQ(config.servers[1].host, "::1");
    EXPECT_EQ(config.servers[1].display(), "[::1]:11212");
    EXPECT_EQ(config.servers[1].weight, 3U);
    EXPECT_EQ(config.distribution, Distribution::KetamaWeighted);
    EXPECT_EQ(config.prefix, "shop1:");
    EXPECT_EQ(config.key_template.expand("7"), "product:7");
    EXPECT_TRUE(config.hash_with_prefix);
    EXPECT_EQ(config.ttl_seconds, 3600U);
    EXPECT_EQ(config.max_value_bytes, 2048U);
    EXPECT_EQ(config.connect_timeout.count(), 250);
    EXPECT_EQ(config.io_timeout.count(), 1500);
    EXPECT_EQ(config.dead_server_retry.count(), 3000);
}

TEST(MemcachedConfig, DefaultsNeedOnlyServers) {
    const Config config = parse_config(R"({"servers": ["127.0.0.1:11211"]})");
    EXPECT_EQ(config.distribution, Distribution::Ketama);
    EXPECT_EQ(config.prefix, "");
    EXPECT_EQ(config.key_template.expand("7"), "7");
    EXPECT_FALSE(config.hash_with_prefix);
    EXPECT_EQ(config.ttl_seconds, 0U);
    EXPECT_EQ(config.max_value_bytes, 1024U * 1024U);
    EXPECT_EQ(config.dead_server_retry.count(), 2000);
}

TEST(MemcachedConfig, ErrorsNameTheServerEntry) {
    EXPECT_EQ(error_of(R"({"servers": ["a:1", "localhost"]})"),
              R"(config.servers[1]: expected "host:port", got "localhost")");
    EXPECT_EQ(error_of(R"({"servers": ["a:1", "b:99999"]})"),
              R"(config.servers[1]: expected "host:port", got "b:99999" (port must be 1..65535))");
    EXPECT_EQ(
        error_of(R"({"servers": ["a:1", 7]})"),
        R"(config.servers[1]: expected "host:port" or {"address": "host:port", "weight": N}, got a number)");
    EXPECT_EQ(error_of(R"({"servers": [{"address": "a:x"}]})"),
              R"(config.servers[0].address: expected "host:port", got "a:x" (port must be 1..65535))");
    EXPECT_EQ(error_of(R"({"servers": [{"weight": 2}]})"),
              R"(config.servers[0].address: missing; expected "host:port")");
    EXPECT_EQ(error_of(R"({"servers": [{"address": "a:1", "wieght": 2}]})"),
              "config.servers[0].wieght: unknown key (known: address, weight)");
    EXPECT_EQ(error_of(R"({"servers": ["a:1", "b:2", "a:1"]})"),
              "config.servers[2]: duplicate of config.servers[0] (a:1)");
}

TEST(MemcachedConfig, ServersAreRequiredAndNotEmpty) {
    EXPECT_EQ(error_of(R"({})"), R"(config.servers: missing; expected a non-empty array of "host:port")");
    EXPECT_EQ(error_of(R"({"servers": []})"),
              R"(config.servers: expected a non-empty array of "host:port", got an empty array)");
    EXPECT_EQ(error_of(R"({"servers": "a:1"})"),
              R"(config.servers: expected a non-empty array of "host:port", got a string)");
}

TEST(MemcachedConfig, RejectsUnknownKeysListingTheKnownOnes) {
    EXPECT_EQ(
        error_of(R"({"servers": ["a:1"], "ttl": 5})"),
        "config.ttl: unknown key (known: servers, distribution, prefix, key_template, hash_with_prefix, "
        "ttl_seconds, max_value_bytes, connect_timeout_ms, io_timeout_ms, dead_server_retry_ms)");
}

TEST(MemcachedConfig, RejectsValuesOfTheWrongTypeOrRange) {
    EXPECT_EQ(error_of(R"({"servers": ["a:1"], "ttl_seconds": -1})"),
              "config.ttl_seconds: expected an integer in 0..315360000, got -1");
    EXPECT_EQ(error_of(R"({"servers": ["a:1"], "ttl_seconds": 1.5})"),
              "config.ttl_seconds: expected an integer in 0..315360000, got a fractional number");
    EXPECT_EQ(error_of(R"({"servers": ["a:1"], "max_value_bytes": 0})"),
              "config.max_value_bytes: expected an integer in 1..1073741824, got 0");
    EXPECT_EQ(error_of(R"({"servers": ["a:1"], "io_timeout_ms": "5s"})"),
              "config.io_timeout_ms: expected an integer in 1..600000, got a string");
    EXPECT_EQ(error_of(R"({"servers": ["a:1"], "hash_with_prefix": 1})"),
              "config.hash_with_prefix: expected true or false, got a number");
    EXPECT_EQ(error_of(R"({"servers": ["a:1"], "distribution": "modula"})"),
              R"(config.distribution: expected "ketama" or "ketama_weighted", got "modula")");
}

TEST(MemcachedConfig, WeightsNeedTheWeightedDistribution) {
    EXPECT_EQ(error_of(R"({"servers": ["a:1", {"address": "b:2", "weight": 2}]})"),
              R"(config.servers[1].weight: weights need "distribution": "ketama_weighted")");
}

TEST(MemcachedConfig, KeyTemplateErrorsNameTheKey) {
    EXPECT_EQ(error_of(R"({"servers": ["a:1"], "key_template": "product:{sku}"})"),
              "config.key_template: unknown placeholder {sku}; the only placeholder is {id}");
    EXPECT_EQ(error_of(R"({"servers": ["a:1"], "key_template": "product"})"),
              "config.key_template: needs an {id} placeholder, otherwise every document shares one key");
}

TEST(MemcachedConfig, PrefixMustBeUsableInKeys) {
    EXPECT_EQ(error_of(R"({"servers": ["a:1"], "prefix": "my shop:"})"),
              "config.prefix: contains a space or control character, which memcached keys cannot hold");
    const std::string long_prefix(171, 'p');
    EXPECT_EQ(
        error_of(R"({"servers": ["a:1"], "key_template": "product:{id}", "prefix": ")" + long_prefix + "\"}"),
        "config.prefix: the prefix and the template text before {id} take 179 bytes; at most 178 leave "
        "room for hashed keys within memcached's 250");
}

TEST(MemcachedConfig, RejectsTextThatIsNotAJsonObject) {
    EXPECT_EQ(error_of("[]"), "config: expected an object, got an array");
    EXPECT_EQ(error_of("{").rfind("config: invalid JSON: ", 0), 0U);
}

}  // namespace
}  // namespace indexer::memcached_sink
