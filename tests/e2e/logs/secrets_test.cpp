// Secrets in the configuration (the password of the PostgreSQL URL, a
// password in an Elasticsearch URL, the sink's basic-auth password and API
// key, Kafka's SASL password) never appear in what the binary prints: not in
// `check-config`'s report, not in the logs of `run` while every service is
// unreachable, not in the errors of a configuration that does not load.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <cctype>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace indexer::testing {
namespace {

using std::chrono::seconds;

const std::vector<std::string> kSecrets{"PgSecret-91c2", "UrlSecret-5d1e", "EsSecret-c0de",
                                        "ApiKeySecret-42aa", "KafkaSecret-7f3a"};

// Kafka and the sinks on port 1 of loopback, where nothing listens: each
// connection fails. PostgreSQL too unless `postgres_url` is given.
std::string secret_config(
    const std::string& listen, const std::string& extra = {}, const std::string& table = "products",
    const std::string& postgres_url = "postgresql://indexer:PgSecret-91c2@127.0.0.1:1/shop") {
    return fmt::format(R"(
kafka:
  brokers: 127.0.0.1:1
  properties:
    security.protocol: SASL_PLAINTEXT
    sasl.mechanism: PLAIN
    sasl.username: indexer
    sasl.password: KafkaSecret-7f3a
http:
  listen: "{listen}"
postgres:
  url: {postgres}
logging:
  level: debug
pipelines:
  - name: url-credentials
    topic: products
    source: {{table: {table}}}
    sink: {{plugin: elasticsearch, config: {{hosts: ["http://elastic:UrlSecret-5d1e@127.0.0.1:1"], index: products}}}}
  - name: basic-auth
    topic: products
    source: {{table: {table}}}
    sink:
      plugin: elasticsearch
      config: {{hosts: ["http://127.0.0.1:1"], index: products, auth: {{username: elastic, password: EsSecret-c0de}}}}
  - name: api-key
    topic: products
    source: {{table: {table}}}
    sink:
      plugin: elasticsearch
      config: {{hosts: ["http://127.0.0.1:1"], index: products, auth: {{api_key: ApiKeySecret-42aa}}}}
{extra})",
                       fmt::arg("listen", listen), fmt::arg("extra", extra), fmt::arg("table", table),
                       fmt::arg("postgres", postgres_url));
}

std::vector<std::string> secrets_in(const std::string& output) {
    std::vector<std::string> found;
    for (const std::string& secret : kSecrets) {
        if (output.find(secret) != std::string::npos) found.push_back(secret);
    }
    return found;
}

class Secrets : public ::testing::Test {
protected:
    // Runs the binary with `arguments` on `config` until it exits (or for at
    // most `run_for`, then SIGTERM); returns everything it printed.
    std::string run(const std::string& config, std::vector<std::string> arguments, seconds run_for) {
        const auto directory = scratch_directory("secrets");
        const auto file = directory / "indexer.yaml";
        std::ofstream(file) << config;
        arguments.push_back("-c");
        arguments.push_back(file.string());
        ChildProcess process(indexer_binary(), arguments, directory / "output.log");
        if (!process.wait(run_for)) {
            process.signal(SIGTERM);
            EXPECT_TRUE(process.wait(seconds(60))) << "did not stop on SIGTERM\n" << process.output();
        }
        return process.output();
    }
};

TEST_F(Secrets, CheckConfigReportsEveryFailedConnectionWithoutTheSecrets) {
    const std::string output = run(secret_config(free_listen_address()), {"check-config"}, seconds(120));
    // The report did try every service and the password-holding URLs.
    EXPECT_NE(output.find("FAIL"), std::string::npos) << output;
    EXPECT_NE(output.find("url-credentials"), std::string::npos) << output;
    EXPECT_NE(output.find("api-key"), std::string::npos) << output;
    EXPECT_EQ(secrets_in(output), std::vector<std::string>{}) << output;
}

TEST_F(Secrets, RunLogsItsStartUpFailuresWithoutTheSecrets) {
    const std::string output = run(secret_config(free_listen_address()), {"run"}, seconds(8));
    // It waited for the unreachable database and said so.
    EXPECT_NE(output.find("waits"), std::string::npos) << output;
    EXPECT_EQ(secrets_in(output), std::vector<std::string>{}) << output;
}

// `url` (postgresql://user@host/db or postgresql://user:password@host/db)
// with the password replaced by PgSecret-91c2; "" when it has no user.
std::string with_secret_password(const std::string& url) {
    const std::size_t scheme = url.find("://");
    const std::size_t at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos) return {};
    const std::size_t colon = url.find(':', scheme + 3);
    const std::size_t user_end = colon != std::string::npos && colon < at ? colon : at;
    return url.substr(0, user_end) + ":PgSecret-91c2" + url.substr(at);
}

// With the database reachable (a password on a trust-auth server, or a wrong
// one: both get past or fail at start-up without showing it), the pipelines
// start and it is Kafka's SASL client and the sinks that fail, over and over.
TEST_F(Secrets, RunLogsKafkaAndSinkFailuresAndAnswersReadyzWithoutTheSecrets) {
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    const std::string url = with_secret_password(postgres);
    ASSERT_FALSE(url.empty()) << "INDEXER_TEST_POSTGRES has no user name to give a password: " << postgres;
    const std::string table = unique_name("secrets");
    const Database database(postgres);
    database.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, name text)");
    Cleanup cleanup([&] { database.execute("DROP TABLE IF EXISTS " + table); });

    const std::string listen = free_listen_address();
    const auto directory = scratch_directory("secrets");
    const auto file = directory / "indexer.yaml";
    std::ofstream(file) << secret_config(listen, {}, table, url);
    ChildProcess process(indexer_binary(), {"run", "-c", file.string()}, directory / "output.log");
    HttpResponse ready;
    // The sink probes have failed at least once when /readyz names them.
    const bool probed = eventually(
        [&] {
            ready = http("GET", "http://" + listen + "/readyz");
            if (ready.status != 503) return false;
            const auto body = nlohmann::json::parse(ready.body);
            for (const auto& check : body["checks"]) {
                if (check["name"] == "pipeline api-key: sink" && check["detail"] != "not probed yet")
                    return true;
            }
            return false;
        },
        seconds(60));
    EXPECT_TRUE(probed) << ready.status << " " << ready.body << "\n" << process.output();
    EXPECT_EQ(ready.status, 503);
    EXPECT_EQ(secrets_in(ready.body), std::vector<std::string>{}) << ready.body;
    std::this_thread::sleep_for(seconds(3));  // a few more of librdkafka's reconnection attempts
    process.signal(SIGTERM);
    EXPECT_TRUE(process.wait(seconds(60))) << process.output();

    const std::string output = process.output();
    EXPECT_NE(output.find("127.0.0.1:1"), std::string::npos) << output;  // Kafka's failures were logged
    EXPECT_EQ(secrets_in(output), std::vector<std::string>{}) << output;
}

// Passwords written raw into the URL break it at '%', '@', '/' or ':' and
// libpq quotes the pieces in its errors; written percent-encoded or quoted in
// key=value form they reach the server whole. No piece of 4 characters or
// more may show in what the binary prints, in any of these forms.
const std::vector<std::string> kAwkwardPasswords{"Zq%7xW@p/9:Lm", "Kt%zzRv8Qy", "Mf Ga8'Sl1\"Ek"};

std::vector<std::string> postgres_urls_with(const std::string& password, const std::string& host_port) {
    std::string encoded;
    std::string quoted = "'";
    for (const char c : password) {
        const auto byte = static_cast<unsigned char>(c);
        encoded += std::isalnum(byte) != 0 ? std::string(1, c) : fmt::format("%{:02X}", byte);
        if (c == '\'' || c == '\\') quoted += '\\';
        quoted += c;
    }
    quoted += "'";
    return {"postgresql://indexer:" + password + "@" + host_port + "/shop",
            "postgresql://indexer:" + encoded + "@" + host_port + "/shop",
            "host=" + host_port.substr(0, host_port.find(':')) +
                " port=" + host_port.substr(host_port.find(':') + 1) + " user=indexer password=" + quoted +
                " dbname=shop"};
}

// The first run of at least 4 characters of `password` in `output`.
std::string leaked_fragment(const std::string& output, const std::string& password) {
    for (std::size_t length = password.size(); length >= 4; --length) {
        for (std::size_t start = 0; start + length <= password.size(); ++start) {
            if (output.find(password.substr(start, length)) != std::string::npos)
                return password.substr(start, length);
        }
    }
    return {};
}

// A YAML double-quoted scalar.
std::string yaml_quoted(const std::string& text) {
    return nlohmann::json(text).dump();
}

TEST_F(Secrets, NoFragmentOfAnAwkwardPostgresPasswordShowsInCheckConfigOrTheLogs) {
    for (const std::string& password : kAwkwardPasswords) {
        for (const std::string& url : postgres_urls_with(password, "127.0.0.1:1")) {
            const std::string config = secret_config(free_listen_address(), {}, "products", yaml_quoted(url));
            const std::string checked = run(config, {"check-config"}, seconds(120));
            EXPECT_NE(checked.find("postgres (url-credentials)"), std::string::npos) << checked;
            EXPECT_EQ(leaked_fragment(checked, password), "") << url << "\n" << checked;
            const std::string logged = run(config, {"run"}, seconds(4));
            EXPECT_EQ(leaked_fragment(logged, password), "") << url << "\n" << logged;
        }
    }
}

// The test server trusts its clients, so a percent-encoded or quoted awkward
// password gets the pipelines started; /readyz then answers with the sinks'
// and Kafka's failures, and neither it nor the logs show the password.
TEST_F(Secrets, ReadyzAndTheLogsShowNoFragmentOfAnAwkwardPasswordOnceStarted) {
    INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
    const std::string password = kAwkwardPasswords.front();
    const std::size_t scheme = postgres.find("://");
    const std::size_t at = postgres.find('@');
    ASSERT_TRUE(scheme != std::string::npos && at != std::string::npos) << postgres;
    const std::string user =
        postgres.substr(scheme + 3, postgres.find_first_of(":@", scheme + 3) - scheme - 3);
    const std::size_t slash = postgres.find('/', at);
    const std::string host_port = postgres.substr(at + 1, slash - at - 1);
    const std::string database_name = postgres.substr(slash + 1, postgres.find('?', slash) - slash - 1);
    const std::string table = unique_name("secrets");
    const Database database(postgres);
    database.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, name text)");
    Cleanup cleanup([&] { database.execute("DROP TABLE IF EXISTS " + table); });

    auto urls = postgres_urls_with(password, host_port);
    urls.erase(urls.begin());  // the raw form cannot be read by libpq: the test above
    for (std::string url : urls) {
        for (const std::string& from : {std::string("indexer"), std::string("/shop"), std::string("=shop")}) {
            const std::size_t found = url.find(from);
            if (found != std::string::npos)
                url.replace(found, from.size(), from == "indexer" ? user : from.substr(0, 1) + database_name);
        }
        const std::string listen = free_listen_address();
        const auto directory = scratch_directory("secrets");
        const auto file = directory / "indexer.yaml";
        std::ofstream(file) << secret_config(listen, {}, table, yaml_quoted(url));
        ChildProcess process(indexer_binary(), {"run", "-c", file.string()}, directory / "output.log");
        HttpResponse ready;
        const bool probed = eventually(
            [&] {
                ready = http("GET", "http://" + listen + "/readyz");
                return ready.status == 503 &&
                       ready.body.find("pipeline api-key: sink") != std::string::npos &&
                       ready.body.find("not probed yet") == std::string::npos;
            },
            seconds(60));
        EXPECT_TRUE(probed) << url << "\n" << ready.status << " " << ready.body << "\n" << process.output();
        process.signal(SIGTERM);
        EXPECT_TRUE(process.wait(seconds(60))) << process.output();
        EXPECT_EQ(leaked_fragment(ready.body, password), "") << url << "\n" << ready.body;
        EXPECT_EQ(leaked_fragment(process.output(), password), "") << url << "\n" << process.output();
    }
}

TEST_F(Secrets, ConfigurationErrorsDoNotShowTheSecrets) {
    const std::string broken = secret_config(free_listen_address(), "delayers:\n  - name: d\n    bogus: 1\n");
    for (const char* command : {"run", "check-config"}) {
        const std::string output = run(broken, {command}, seconds(60));
        EXPECT_NE(output.find("bogus"), std::string::npos) << command << ": " << output;
        EXPECT_EQ(secrets_in(output), std::vector<std::string>{}) << command << ": " << output;
    }
}

}  // namespace
}  // namespace indexer::testing
