#include <indexer/config/loader.hpp>
#include <indexer/config/redaction.hpp>

#include "fake_environment.hpp"

#include <gmock/gmock.h>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <algorithm>
#include <cctype>

using namespace indexer::config;
using indexer::Result;
using indexer::config::testing::fake_environment;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// Secrets of the configuration below; none may appear in the dump.
const std::vector<std::string> kSecrets{"pg-Secret1",     "kafka-Secret2", "jaas-Secret3",
                                        "key-Secret4",    "es-Secret5",    "api-Secret6",
                                        "bearer-Secret7", "url-Secret8",   "nested-Secret9"};

Config secret_config() {
    Result<Config> config = parse_config(R"(
kafka:
  brokers: k1:9093,k2:9093
  properties:
    security.protocol: SASL_SSL
    sasl.username: indexer
    sasl.password: ${KAFKA_PASSWORD}
    sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule password="jaas-Secret3";
    ssl.key.password: key-Secret4
postgres:
  url: postgresql://indexer:${PGPASSWORD}@db.internal:5432/shop?sslmode=verify-full
pipelines:
  - name: p
    topic: t
    source: {table: products}
    sink:
      plugin: elasticsearch
      config:
        hosts: ["https://elastic:url-Secret8@es.internal:9200", "https://es2.internal:9200"]
        index: products
        username: elastic
        password: "${ES_PASSWORD}"
        api_key: api-Secret6
        bearer_token: bearer-Secret7
        auth: {client_secret: nested-Secret9, user: someone}
        gzip: true
        max_bulk_ops: 500
)",
                                         "secret.yaml",
                                         fake_environment({{"KAFKA_PASSWORD", "kafka-Secret2"},
                                                           {"PGPASSWORD", "pg-Secret1"},
                                                           {"ES_PASSWORD", "es-Secret5"}}));
    EXPECT_TRUE(config.is_ok()) << config.error();
    return config.is_ok() ? std::move(config).value() : Config{};
}

}  // namespace

TEST(ToRedactedYaml, NeverShowsASecret) {
    const std::string dump = to_redacted_yaml(secret_config());
    for (const std::string& secret : kSecrets) EXPECT_THAT(dump, Not(HasSubstr(secret))) << dump;
}

TEST(ToRedactedYaml, ShowsEverythingElseWithDefaultsFilledIn) {
    const YAML::Node dump = YAML::Load(to_redacted_yaml(secret_config()));
    EXPECT_EQ(dump["kafka"]["brokers"].as<std::string>(), "k1:9093,k2:9093");
    EXPECT_EQ(dump["kafka"]["client_id"].as<std::string>(), "indexer");
    EXPECT_EQ(dump["kafka"]["properties"]["sasl.username"].as<std::string>(), "indexer");
    EXPECT_EQ(dump["kafka"]["properties"]["sasl.password"].as<std::string>(), "<redacted>");
    EXPECT_EQ(dump["kafka"]["properties"]["sasl.jaas.config"].as<std::string>(), "<redacted>");
    EXPECT_EQ(dump["postgres"]["url"].as<std::string>(),
              "postgresql://indexer:<redacted>@db.internal:5432/shop?sslmode=verify-full");
    EXPECT_EQ(dump["postgres"]["pool_size"].as<int>(), 4);
    EXPECT_EQ(dump["postgres"]["statement_timeout"].as<std::string>(), "30s");
    EXPECT_EQ(dump["http"]["listen"].as<std::string>(), "127.0.0.1:9464");
    EXPECT_EQ(dump["logging"]["level"].as<std::string>(), "info");
    const YAML::Node pipeline = dump["pipelines"][0];
    EXPECT_EQ(pipeline["source"]["table"].as<std::string>(), "products");
    EXPECT_EQ(pipeline["dead_letter_topic"].as<std::string>(), "t-dead-letter");
    EXPECT_EQ(pipeline["batch"]["max_wait"].as<std::string>(), "500ms");
    const YAML::Node sink = pipeline["sink"]["config"];
    EXPECT_EQ(sink["hosts"][0].as<std::string>(), "https://elastic:<redacted>@es.internal:9200");
    EXPECT_EQ(sink["hosts"][1].as<std::string>(), "https://es2.internal:9200");
    EXPECT_EQ(sink["username"].as<std::string>(), "elastic");
    EXPECT_EQ(sink["password"].as<std::string>(), "<redacted>");
    EXPECT_EQ(sink["api_key"].as<std::string>(), "<redacted>");
    EXPECT_EQ(sink["bearer_token"].as<std::string>(), "<redacted>");
    EXPECT_EQ(sink["auth"]["client_secret"].as<std::string>(), "<redacted>");
    EXPECT_EQ(sink["auth"]["user"].as<std::string>(), "someone");
    EXPECT_TRUE(sink["gzip"].as<bool>());
    EXPECT_EQ(sink["max_bulk_ops"].as<int>(), 500);
}

TEST(ToRedactedYaml, ReadsBackAsTheSameConfigurationWhenThereAreNoSecrets) {
    Result<Config> original = parse_config(R"(
kafka: {brokers: k}
postgres: {url: "host=db dbname=shop"}
pipelines:
  - {name: p, topic: t, source: {table: Shop."Items", id_column: sku}, sink: {plugin: memcached, config: {ttl: 5}}}
delayers:
  - {name: d, topic: t-delay, target_topic: t, delay: 90s}
)",
                                           "a.yaml", fake_environment());
    ASSERT_TRUE(original.is_ok()) << original.error();
    Result<Config> again = parse_config(to_redacted_yaml(*original), "dump.yaml", fake_environment());
    ASSERT_TRUE(again.is_ok()) << again.error() << "\n" << to_redacted_yaml(*original);
    EXPECT_EQ(to_redacted_yaml(*again), to_redacted_yaml(*original));
    EXPECT_EQ(again->pipelines.at(0).source.table, (TableName{"shop", "Items"}));
    EXPECT_EQ(again->delayers.at(0).delay, std::chrono::seconds{90});
}

TEST(IsSecretName, MatchesSecretLookingNamesInAnyCase) {
    for (const char* name : {"password", "sasl.password", "PASSWORD", "db_passwd", "client_secret", "token",
                             "bearer_token", "api_key", "ApiKey", "credentials", "private_key",
                             "sasl.jaas.config", "ssl.key.password", "ssl.key.pem"}) {
        EXPECT_TRUE(is_secret_name(name)) << name;
    }
    for (const char* name : {"username", "index", "hosts", "key_template", "ssl.ca.location",
                             "security.protocol", "sasl.mechanism", "ttl"}) {
        EXPECT_FALSE(is_secret_name(name)) << name;
    }
}

TEST(RedactConnectionString, HidesThePasswordOfAUrl) {
    EXPECT_EQ(redact_connection_string("postgresql://u:secret@h:5432/db"),
              "postgresql://u:<redacted>@h:5432/db");
    EXPECT_EQ(redact_connection_string("postgres://u:p%40ss@h/db?password=two&sslmode=require"),
              "postgres://u:<redacted>@h/db?password=<redacted>&sslmode=require");
    EXPECT_EQ(redact_connection_string("postgresql://u:we/ird?p@ss@h/db"), "postgresql://u:<redacted>@h/db");
    EXPECT_EQ(redact_connection_string("postgresql://u@h/db"), "postgresql://u@h/db");
    EXPECT_EQ(redact_connection_string("postgresql:///db?host=/run/pg&password=x"),
              "postgresql:///db?host=/run/pg&password=<redacted>");
}

TEST(RedactConnectionString, HidesThePasswordOfAKeyValueString) {
    EXPECT_EQ(redact_connection_string("host=db password=secret dbname=shop"),
              "host=db password=<redacted> dbname=shop");
    EXPECT_EQ(redact_connection_string("host=db  password = 'it\\'s a secret' user=u"),
              "host=db  password=<redacted> user=u");
    EXPECT_EQ(redact_connection_string("host=db dbname=shop"), "host=db dbname=shop");
    EXPECT_EQ(redact_connection_string("host=db password='unterminated secret"), "<redacted>");
}

// Found by tests/fuzz/config_fuzzer: a URL after a key=value password made the
// whole string be read as a URL, and the key=value password was shown.
TEST(RedactConnectionString, HidesBothPasswordsOfAKeyValueStringHoldingAUrl) {
    const std::string redacted = redact_connection_string("password=secret postgresql://a:bpass@c/d");
    EXPECT_EQ(redacted.find("secret"), std::string::npos) << redacted;
    EXPECT_EQ(redacted.find("bpass"), std::string::npos) << redacted;
    EXPECT_NE(redacted.find("<redacted>"), std::string::npos) << redacted;
}

TEST(RedactUrlCredentials, HidesOnlyThePassword) {
    EXPECT_EQ(redact_url_credentials("https://elastic:changeme@es:9200/x"),
              "https://elastic:<redacted>@es:9200/x");
    EXPECT_EQ(redact_url_credentials("https://es:9200/x"), "https://es:9200/x");
    EXPECT_EQ(redact_url_credentials("https://user@es:9200"), "https://user@es:9200");
    EXPECT_EQ(redact_url_credentials("a http://u:p1@x and https://v:p2@y"),
              "a http://u:<redacted>@x and https://v:<redacted>@y");
    EXPECT_EQ(redact_url_credentials("not a url"), "not a url");
}

namespace {

// Passwords that break a URL written raw, or a key=value string unquoted.
const std::vector<std::string> kAwkwardPasswords{"Zq%7xW@p/9:Lm", "Kt%zzRv8Qy",   "Hb@Nw4@Tc7Ds",
                                                 "Vg/Jx3/Pm6Fe",  "Wn:Yr5:Uq2Xo", "Mf Ga8 Sl1 Ek",
                                                 "Oj'Ib9'Ch0'Zu", "Rd\"Lt2\"Qa4", "Pe%40Nk%2FYw"};

// Every form a password is written in: raw and percent-encoded in a URL,
// quoted and bare in key=value.
std::vector<std::string> urls_with(const std::string& password) {
    std::string encoded;
    std::string quoted = "'";
    for (const char c : password) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0) {
            encoded += c;
        } else {
            encoded += {'%', kHex[byte >> 4], kHex[byte & 15]};
        }
        if (c == '\'' || c == '\\') quoted += '\\';
        quoted += c;
    }
    quoted += "'";
    return {"postgresql://indexer:" + password + "@db.internal:5432/shop",
            "postgresql://indexer:" + encoded + "@db.internal:5432/shop?sslmode=disable",
            "postgresql://indexer@db.internal/shop?password=" + encoded,
            "host=db.internal user=indexer password=" + quoted + " dbname=shop"};
}

Config config_with_url(const std::string& url) {
    Config config;
    config.postgres.url = url;
    return config;
}

// The first run of at least 4 characters of `secret` found in `text`.
std::string leaked_fragment(const std::string& text, const std::string& secret) {
    for (std::size_t length = secret.size(); length >= kShortestSecretFragment; --length) {
        for (std::size_t start = 0; start + length <= secret.size(); ++start) {
            if (text.find(secret.substr(start, length)) != std::string::npos)
                return secret.substr(start, length);
        }
    }
    return {};
}

// What libpq (and libpqxx above it) says about a string: the URL pieces it
// quotes when a raw password broke the URL, and the host and port it read.
std::vector<std::string> messages_about(const std::string& url, const std::string& password) {
    std::vector<std::string> messages{
        "invalid percent-encoded token: \"" + url.substr(url.find(':') + 1) + "\"",
        "could not translate host name \"" + password.substr(password.size() / 2) +
            "@db.internal\" to address: Name or service not known",
        "invalid integer value \"" + password.substr(0, password.size() / 2) +
            "\" for connection option \"port\"",
        "missing \"=\" after \"" + password + "\" in connection info string",
        "connection to server at \"db.internal\" failed: FATAL:  password authentication failed for user "
        "\"indexer\" (" +
            url + ")",
    };
    // Each piece between the characters a URL splits at, as libpq may quote it alone.
    std::string piece;
    for (const char c : password + "@") {
        if (std::string_view("%@/: '\"").find(c) != std::string_view::npos) {
            messages.push_back("invalid URI \"" + piece + "\"");
            piece.clear();
        } else {
            piece += c;
        }
    }
    return messages;
}

}  // namespace

TEST(SecretsOf, FindsEverySecretOfTheConfiguration) {
    const std::vector<std::string> secrets = secrets_of(secret_config());
    for (const std::string& secret : kSecrets) {
        EXPECT_NE(std::find(secrets.begin(), secrets.end(), secret), secrets.end()) << secret;
    }
    // The JAAS line's class name is no secret: logs keep saying "kafka".
    for (const std::string& secret : secrets) EXPECT_THAT(secret, Not(HasSubstr("kafka."))) << secret;
}

TEST(RedactSecrets, RemovesEveryFragmentOfAnAwkwardPasswordInEveryForm) {
    for (const std::string& password : kAwkwardPasswords) {
        for (const std::string& url : urls_with(password)) {
            const std::vector<std::string> secrets = secrets_of(config_with_url(url));
            for (const std::string& message : messages_about(url, password)) {
                const std::string shown = redact_secrets(message, secrets);
                EXPECT_EQ(leaked_fragment(shown, password), "")
                    << "password " << password << " in " << url << "\nmessage: " << message
                    << "\nshown: " << shown;
            }
        }
    }
}

TEST(RedactSecrets, RemovesKafkaAndSinkSecretsAndUrlPasswords) {
    const std::vector<std::string> secrets = secrets_of(secret_config());
    const std::string shown = redact_secrets(
        "sasl: auth failed with kafka-Secret2 (jaas-Secret3); key-Secret4 es-Secret5 api-Secret6 "
        "bearer-Secret7 url-Secret8 nested-Secret9 pg-Secret1 and https://someone:unknown-pw@es:9200",
        secrets);
    for (const std::string& secret : kSecrets) EXPECT_THAT(shown, Not(HasSubstr(secret))) << shown;
    EXPECT_THAT(shown, Not(HasSubstr("unknown-pw"))) << shown;
    EXPECT_THAT(shown, HasSubstr("sasl: auth failed with <redacted>")) << shown;
}

TEST(RedactSecrets, LeavesTextWithoutSecretsAlone) {
    const std::vector<std::string> secrets =
        secrets_of(config_with_url("postgresql://indexer:PgSecret-91c2@db/shop"));
    const std::string message =
        "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running?";
    EXPECT_EQ(redact_secrets(message, secrets), message);
    EXPECT_EQ(redact_secrets("", secrets), "");
    // Secrets shorter than the shortest fragment are not looked for: they would mangle every message.
    EXPECT_EQ(redact_secrets("a table", {"ab", "tab"}), "a table");
}

TEST(RedactSecrets, HandlesNulBytesInvalidUtf8AndLongTexts) {
    const std::string secret = std::string("Nu\0l\xff\xfeSecret", 12);
    const std::string text = std::string(100'000, 'x') + secret + std::string("\0\xc3", 2);
    const std::string shown = redact_secrets(text, {secret});
    EXPECT_EQ(shown, std::string(100'000, 'x') + "<redacted>" + std::string("\0\xc3", 2));
}

TEST(Redact, UsesTheProcessSecrets) {
    set_process_secrets({"Process-Secret-1"});
    EXPECT_EQ(redact("failed: Process-Secret-1, postgresql://u:other@h/db"),
              "failed: <redacted>, postgresql://u:<redacted>@h/db");
    set_process_secrets({});
    EXPECT_EQ(redact("failed: Process-Secret-1"), "failed: Process-Secret-1");
}
