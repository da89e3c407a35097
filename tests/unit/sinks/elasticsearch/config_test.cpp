#include "indexer/sinks/elasticsearch/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace indexer::sinks::elasticsearch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string error_of(std::string_view json) {
    try {
        parse_config(json);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

// A file in the temporary directory, removed at the end of the test.
class TempFile {
public:
    explicit TempFile(const std::string& content) {
        path_ = std::filesystem::temp_directory_path() /
                ("es_config_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json");
        std::ofstream(path_) << content;
    }
    ~TempFile() { std::filesystem::remove(path_); }
    std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

TEST(ElasticsearchConfig, MinimalConfigGetsTheDocumentedDefaults) {
    const Config config = parse_config(R"({"hosts": ["http://127.0.0.1:9200/"], "index": "products"})");
    EXPECT_EQ(config.hosts, std::vector<std::string>{"http://127.0.0.1:9200"});
    EXPECT_EQ(config.index, "products");
    EXPECT_EQ(config.max_request_bytes, 5U * 1024 * 1024);
    EXPECT_EQ(config.max_request_ops, 1000U);
    EXPECT_EQ(config.max_in_flight_requests, 4U);
    EXPECT_FALSE(config.gzip);
    EXPECT_TRUE(config.tls.verify);
    EXPECT_EQ(config.auth.kind, AuthKind::None);
    EXPECT_TRUE(config.create_index_body.empty());
}

TEST(ElasticsearchConfig, EveryKeyIsRead) {
    const Config config = parse_config(R"({
        "hosts": ["https://es1:9200", "HTTPS://[::1]:9201/prefix/"],
        "index": "products-v2",
        "max_request_bytes": 1048576, "max_request_ops": 500, "max_in_flight_requests": 8,
        "gzip": true, "connect_timeout_ms": 1500, "request_timeout_ms": 20000, "host_cooldown_ms": 0,
        "auth": {"api_key": "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
        "tls": {"verify": false}
    })");
    EXPECT_EQ(config.hosts, (std::vector<std::string>{"https://es1:9200", "https://[::1]:9201/prefix"}));
    EXPECT_EQ(config.max_request_bytes, 1048576U);
    EXPECT_EQ(config.max_request_ops, 500U);
    EXPECT_EQ(config.max_in_flight_requests, 8U);
    EXPECT_TRUE(config.gzip);
    EXPECT_EQ(config.connect_timeout.count(), 1500);
    EXPECT_EQ(config.request_timeout.count(), 20000);
    EXPECT_EQ(config.host_cooldown.count(), 0);
    EXPECT_EQ(config.auth.kind, AuthKind::ApiKey);
    EXPECT_FALSE(config.tls.verify);
}

TEST(ElasticsearchConfig, ErrorsNameTheKeyPath) {
    EXPECT_EQ(
        error_of(R"({"hosts": ["http://a:9200", "localhost:9200"]})"),
        "config.hosts[1]: expected an http(s) URL such as \"http://127.0.0.1:9200\", got \"localhost:9200\"");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a:9200", 9200]})"),
              "config.hosts[1]: expected an http(s) URL, got a number");
    EXPECT_EQ(error_of(R"({"hosts": "http://a:9200"})"),
              "config.hosts: expected an array of http(s) URLs, got a string");
    EXPECT_EQ(error_of(R"({"hosts": []})"), "config.hosts: needs at least one URL");
    EXPECT_EQ(error_of(R"({"index": "x"})"), "config.hosts: required (an array of http(s) URLs)");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "gzip": "yes"})"),
              "config.gzip: expected true or false, got a string");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "max_request_ops": 0})"),
              "config.max_request_ops: expected an integer from 1 to 100000, got 0");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "max_in_flight_requests": -1})"),
              "config.max_in_flight_requests: expected an integer from 1 to 64, got -1");
    EXPECT_EQ(
        error_of(R"({"hosts": ["http://a"], "request_timeout_ms": 1.5})"),
        "config.request_timeout_ms: expected an integer from 1 to 3600000, got a number with a fraction");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "index": "Products"})"),
              "config.index: an index name must be lower case, got \"Products\"");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "index": "a/b"})"),
              "config.index: an index name must not contain '/'");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a:99999"]})").substr(0, 17), "config.hosts[0]: ");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a:9200/?pretty"]})").substr(0, 17), "config.hosts[0]: ");
}

TEST(ElasticsearchConfig, UnknownKeysAreRejectedAtEveryLevel) {
    EXPECT_THAT(error_of(R"({"hosts": ["http://a"], "bulk_size": 10})"),
                HasSubstr("config.bulk_size: unknown key (known keys: hosts, index, max_request_bytes"));
    EXPECT_THAT(error_of(R"({"hosts": ["http://a"], "tls": {"verfy": false}})"),
                HasSubstr("config.tls.verfy: unknown key (known keys: ca_file, verify,"));
    EXPECT_THAT(error_of(R"({"hosts": ["http://a"], "auth": {"user": "x"}})"),
                HasSubstr("config.auth.user: unknown key"));
    EXPECT_THAT(error_of(R"({"hosts": ["http://a"], "create_index": {"file": "x"}})"),
                HasSubstr("config.create_index.file: unknown key"));
}

TEST(ElasticsearchConfig, TextThatIsNotAJsonObjectIsRefused) {
    EXPECT_EQ(error_of("{\"hosts\": [\"http://a\"], \"auth\": {\"password\": \"hunter22\""),
              "config: not valid JSON (byte 56)");
    EXPECT_EQ(error_of("[]"), "config: expected an object, got an array");
}

TEST(ElasticsearchConfig, CredentialsInAUrlBecomeBasicAuthAndLeaveTheUrl) {
    const Config config = parse_config(
        R"({"hosts": ["https://elastic:p%40ss%3Aword@es1:9200", "https://elastic:p%40ss%3Aword@es2:9200"]})");
    EXPECT_EQ(config.hosts, (std::vector<std::string>{"https://es1:9200", "https://es2:9200"}));
    EXPECT_EQ(config.auth.kind, AuthKind::Basic);
    EXPECT_EQ(config.auth.username, "elastic");
    EXPECT_EQ(config.auth.password, "p@ss:word");
    EXPECT_EQ(secrets_of(config), std::vector<std::string>{"p@ss:word"});
}

TEST(ElasticsearchConfig, ErrorsNeverShowCredentials) {
    const std::string bad_url = error_of(R"({"hosts": ["ftp://elastic:s3cret-pw@es1:9200"]})");
    EXPECT_THAT(bad_url, Not(HasSubstr("s3cret-pw")));
    EXPECT_THAT(bad_url, HasSubstr("ftp://***@es1:9200"));
    const std::string mixed =
        error_of(R"({"hosts": ["http://u:s3cret-pw@a"], "auth": {"bearer_token": "tok-s3cret"}})");
    EXPECT_EQ(mixed, "config.hosts: credentials in a URL and config.auth are exclusive");
    const std::string wrong_type = error_of(R"({"hosts": ["http://a"], "auth": {"api_key": 12345678}})");
    EXPECT_EQ(wrong_type, "config.auth.api_key: expected a string, got a number");
}

TEST(ElasticsearchConfig, AuthTakesExactlyOneKind) {
    EXPECT_EQ(
        parse_config(R"({"hosts": ["http://a"], "auth": {"username": "u", "password": "p"}})").auth.kind,
        AuthKind::Basic);
    EXPECT_EQ(parse_config(R"({"hosts": ["http://a"], "auth": {"bearer_token": "t"}})").auth.kind,
              AuthKind::Bearer);
    EXPECT_EQ(parse_config(R"({"hosts": ["http://a"], "auth": {"api_key": "k"}})").auth.kind,
              AuthKind::ApiKey);
    const std::string expected =
        "config.auth: expected exactly one of {\"username\", \"password\"}, {\"api_key\"} or "
        "{\"bearer_token\"}";
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "auth": {"api_key": "k", "bearer_token": "t"}})"),
              expected);
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "auth": {}})"), expected);
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "auth": {"username": "u"}})"),
              "config.auth.password: required with a username");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "auth": {"password": "p"}})"),
              "config.auth.username: required with a password");
}

TEST(ElasticsearchConfig, TlsFilesMustBeReadable) {
    EXPECT_EQ(error_of(R"({"hosts": ["https://a"], "tls": {"ca_file": "/nonexistent/ca.pem"}})"),
              "config.tls.ca_file: cannot read file \"/nonexistent/ca.pem\"");
    const TempFile cert("not really a certificate");
    EXPECT_EQ(error_of(R"({"hosts": ["https://a"], "tls": {"client_key": ")" + cert.path() + R"("}})"),
              "config.tls.client_key: needs tls.client_cert");
    const Config config = parse_config(R"({"hosts": ["https://a"], "tls": {"ca_file": ")" + cert.path() +
                                       R"(", "client_cert": ")" + cert.path() + R"(", "client_key": ")" +
                                       cert.path() + R"(", "client_key_password": "kp-secret"}})");
    EXPECT_EQ(config.tls.ca_file, cert.path());
    EXPECT_EQ(config.tls.client_key, cert.path());
    EXPECT_EQ(secrets_of(config), std::vector<std::string>{"kp-secret"});
}

TEST(ElasticsearchConfig, CreateIndexLoadsTheBodyFile) {
    const TempFile body(
        R"({"settings": {"number_of_shards": 1}, "mappings": {"properties": {"n": {"type": "integer"}}}})");
    const Config config =
        parse_config(R"({"hosts": ["http://a"], "index": "products", "create_index": {"body_file": ")" +
                     body.path() + R"("}})");
    EXPECT_EQ(nlohmann::json::parse(config.create_index_body)["mappings"]["properties"]["n"]["type"],
              "integer");
    EXPECT_EQ(error_of(R"({"hosts": ["http://a"], "create_index": {"body_file": ")" + body.path() + R"("}})"),
              "config.create_index: needs config.index (the index to create)");
    EXPECT_EQ(
        error_of(
            R"({"hosts": ["http://a"], "index": "p", "create_index": {"body_file": "/nonexistent.json"}})"),
        "config.create_index.body_file: cannot read file \"/nonexistent.json\"");
    const TempFile broken("{\"settings\": ");
    EXPECT_THAT(
        error_of(R"({"hosts": ["http://a"], "index": "p", "create_index": {"body_file": ")" + broken.path() +
                 R"("}})"),
        HasSubstr("config.create_index.body_file: \"" + broken.path() + "\" must hold a JSON object"));
}

}  // namespace
}  // namespace indexer::sinks::elasticsearch
