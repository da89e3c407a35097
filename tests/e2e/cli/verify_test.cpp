// `indexer verify` against real servers: a table of 200 rows indexed into
// Elasticsearch, OpenSearch 3 or memcached, then drift injected directly in
// the server (one document deleted, one edited, one added that has no row).
// verify names all three and exits 4; --repair fixes all three; a second
// verify exits 0.
//
// The index is first filled by `indexer verify --repair` itself (200 missing
// rows upserted through the sink's normal write path), which is checked
// against the table like any pipeline's output before the drift is injected.
#include "support/e2e.hpp"
#include "support/e2e_extra.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/test_services.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libmemcached/memcached.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace indexer::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr int kRows = 200;

struct Case {
    const char* name;
    const char* service;  // the environment variable with the server's address
    bool memcached;
    bool versioned;  // source.version: updated_at
};

struct Verified {
    int exit_status = -1;
    std::string output;
};

class Verify : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        INDEXER_REQUIRE_SERVICE(brokers, "INDEXER_TEST_KAFKA");
        INDEXER_REQUIRE_SERVICE(postgres, "INDEXER_TEST_POSTGRES");
        INDEXER_REQUIRE_SERVICE(server, GetParam().service);
        brokers_ = brokers;
        server_ = server;
        name_ = unique_name("verify");
        database_ = std::make_unique<Database>(postgres);
        database_->execute("CREATE TABLE " + name_ +
                           " (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), "
                           "updated_at timestamptz NOT NULL DEFAULT clock_timestamp())");
        database_->execute(
            fmt::format("INSERT INTO {} (id, name, price) SELECT g, 'product ' || g, g * 1.25 "
                        "FROM generate_series(1, {}) AS g",
                        name_, kRows));
        directory_ = scratch_directory("verify");
        config_file_ = directory_ / "indexer.yaml";
        std::ofstream(config_file_) << config();
    }

    void TearDown() override {
        if (database_) database_->execute("DROP TABLE IF EXISTS " + name_);
        if (!GetParam().memcached && !server_.empty()) SearchIndex(server_, name_).remove();
    }

    std::string config() const {
        const std::string sink =
            GetParam().memcached
                ? fmt::format(
                      R"({{plugin: memcached, config: {{servers: ["{}"], key_template: "{}:{{id}}"}}}})",
                      server_, name_)
                : fmt::format(R"({{plugin: elasticsearch, config: {{hosts: ["{}"], index: {}}}}})", server_,
                              name_);
        return fmt::format(R"(
kafka:
  brokers: {brokers}
http:
  listen: "{listen}"
postgres:
  url: {postgres}
pipelines:
  - name: {name}
    topic: {name}
    source: {{table: {name}{version}}}
    sink: {sink}
)",
                           fmt::arg("brokers", brokers_), fmt::arg("listen", free_listen_address()),
                           fmt::arg("postgres", database_->url()), fmt::arg("name", name_),
                           fmt::arg("version", GetParam().versioned ? ", version: updated_at" : ""),
                           fmt::arg("sink", sink));
    }

    Verified verify(const std::vector<std::string>& extra = {}) const {
        std::vector<std::string> arguments{"verify", "-c", config_file_.string(), "--pipeline", name_};
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        ChildProcess process(indexer_binary(), arguments, directory_ / unique_name("verify.log"));
        auto status = process.wait(seconds(180));
        if (!status) {
            process.signal(SIGKILL);
            status = process.wait(seconds(10));
        }
        return {status.value_or(-1), process.output()};
    }

    // The line of `output` that is the --json report, parsed (null when there is none).
    static nlohmann::json json_report(const std::string& output) {
        std::istringstream in(output);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line.front() != '{') continue;
            nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
            if (!json.is_discarded() && json.contains("rows_checked")) return json;
        }
        return nullptr;
    }

    // The document of row `id` as PostgreSQL renders it.
    std::string row_document(int id) const {
        return database_->scalar(
            fmt::format("SELECT row_to_json(t)::text FROM {} t WHERE id = {}", name_, id));
    }

    void search_request(const std::string& method, const std::string& path,
                        const std::string& body = {}) const {
        const HttpResponse response = http(method, server_ + "/" + name_ + path, body);
        ASSERT_TRUE(response.status >= 200 && response.status < 300)
            << method << " " << path << ": " << response.status << " " << response.body;
    }

    void memcached_command(const std::string& key, const std::optional<std::string>& value) const {
        const std::string options = "--SERVER=" + server_;
        std::unique_ptr<memcached_st, decltype(&memcached_free)> client(
            memcached(options.c_str(), options.size()), &memcached_free);
        const memcached_return_t rc =
            value ? memcached_set(client.get(), key.data(), key.size(), value->data(), value->size(), 0, 0)
                  : memcached_delete(client.get(), key.data(), key.size(), 0);
        ASSERT_EQ(rc, MEMCACHED_SUCCESS) << memcached_strerror(client.get(), rc);
    }

    // Drift made behind the indexer's back: 17 deleted, 42 edited, 100000 added without a row.
    void inject_drift() const {
        nlohmann::json edited = nlohmann::json::parse(row_document(42));
        edited["name"] = "tampered";
        nlohmann::json extra = nlohmann::json::parse(row_document(7));
        extra["id"] = 100000;
        if (GetParam().memcached) {
            memcached_command(name_ + ":17", std::nullopt);
            memcached_command(name_ + ":42", edited.dump());
            memcached_command(name_ + ":100000", extra.dump());
            return;
        }
        // Versioned: the delete and the edit keep the stored version. (A plain DELETE
        // would leave a tombstone one version above the row's, which a versioned
        // repair cannot beat until index.gc_deletes forgets it: verify then reports
        // the id as not repaired, see the README.)
        const std::string delete_version =
            GetParam().versioned ? fmt::format("&version={}&version_type=external_gte",
                                               document_versions(server_, name_, {"17"}).at("17"))
                                 : "";
        search_request("DELETE", "/_doc/17?refresh=true" + delete_version);
        const std::string version = GetParam().versioned
                                        ? fmt::format("&version={}&version_type=external_gte",
                                                      document_versions(server_, name_, {"42"}).at("42"))
                                        : "";
        search_request("PUT", "/_doc/42?refresh=true" + version, edited.dump());
        search_request("PUT",
                       "/_doc/100000?refresh=true" +
                           std::string(GetParam().versioned ? "&version=1&version_type=external" : ""),
                       extra.dump());
    }

    void expect_sink_matches_table() const {
        if (GetParam().memcached) {
            std::vector<std::string> ids;
            for (int id = 1; id <= kRows; ++id) ids.push_back(std::to_string(id));
            ids.emplace_back("100000");
            EXPECT_THAT(wait_until_cache_matches(*database_, name_, ids, server_, name_ + ":", seconds(10)),
                        ::testing::IsEmpty());
        } else {
            EXPECT_THAT(wait_until_index_matches(*database_, name_, SearchIndex(server_, name_), seconds(30)),
                        ::testing::IsEmpty());
        }
    }

    std::string brokers_;
    std::string server_;
    std::string name_;
    std::unique_ptr<Database> database_;
    std::filesystem::path directory_;
    std::filesystem::path config_file_;
};

TEST_P(Verify, ReportsMissingStaleAndExtraDocumentsAndRepairsThem) {
    // Fill the sink: every row is missing, and --repair writes them all.
    const Verified filled = verify({"--repair", "--json"});
    ASSERT_EQ(filled.exit_status, 0) << filled.output;
    ASSERT_EQ(json_report(filled.output)["repaired"], kRows) << filled.output;
    expect_sink_matches_table();
    const Verified clean = verify();
    ASSERT_EQ(clean.exit_status, 0) << clean.output;
    EXPECT_THAT(clean.output, HasSubstr("in sync")) << clean.output;

    inject_drift();
    if (HasFatalFailure()) return;

    const Verified drifted = verify();
    EXPECT_EQ(drifted.exit_status, 4) << drifted.output;
    EXPECT_THAT(drifted.output, HasSubstr("missing:    1")) << drifted.output;
    EXPECT_THAT(drifted.output, HasSubstr("stale:      1")) << drifted.output;
    EXPECT_THAT(drifted.output, HasSubstr("extra:      1")) << drifted.output;
    EXPECT_THAT(drifted.output, HasSubstr("id 17: in the source, not in the sink")) << drifted.output;
    EXPECT_THAT(drifted.output, HasSubstr("id 42: field \"name\" is \"tampered\" in the sink"))
        << drifted.output;
    EXPECT_THAT(drifted.output, HasSubstr("id 100000: in the sink, not in the source")) << drifted.output;
    EXPECT_THAT(drifted.output, HasSubstr(fmt::format("{} rows checked", kRows))) << drifted.output;

    const Verified repaired = verify({"--repair", "--json"});
    EXPECT_EQ(repaired.exit_status, 0) << repaired.output;
    const nlohmann::json report = json_report(repaired.output);
    EXPECT_EQ(report["repaired"], 3) << repaired.output;
    EXPECT_EQ(report["drifted"], 3) << repaired.output;
    EXPECT_EQ(report["missing"]["count"], 1) << repaired.output;
    EXPECT_EQ(report["stale"]["count"], 1) << repaired.output;
    EXPECT_EQ(report["extra"]["count"], 1) << repaired.output;
    EXPECT_EQ(report["extra"]["examples"][0]["id"], "100000") << repaired.output;
    EXPECT_EQ(report["rows_checked"], kRows) << repaired.output;

    const Verified after = verify();
    EXPECT_EQ(after.exit_status, 0) << after.output;
    EXPECT_THAT(after.output, HasSubstr("in sync")) << after.output;
    expect_sink_matches_table();
}

TEST_P(Verify, ACustomQuerySourceIsRefusedWithTheReason) {
    std::ofstream(config_file_) << fmt::format(R"yaml(
kafka:
  brokers: {}
http:
  listen: "{}"
postgres:
  url: {}
pipelines:
  - name: {}
    topic: {}
    source:
      query: "SELECT id, row_to_json(t) AS document FROM {} t WHERE id = ANY($1)"
    sink: {{plugin: elasticsearch, config: {{hosts: ["http://127.0.0.1:1"], index: x}}}}
)yaml",
                                               brokers_, free_listen_address(), database_->url(), name_,
                                               name_, name_);
    const Verified refused = verify();
    EXPECT_EQ(refused.exit_status, 2) << refused.output;
    EXPECT_THAT(refused.output, HasSubstr("verify needs a table source")) << refused.output;
}

INSTANTIATE_TEST_SUITE_P(
    Servers, Verify,
    ::testing::Values(Case{"elasticsearch", "INDEXER_TEST_ELASTICSEARCH", false, false},
                      Case{"elasticsearch_versioned", "INDEXER_TEST_ELASTICSEARCH", false, true},
                      Case{"opensearch3", "INDEXER_TEST_OPENSEARCH3", false, false},
                      Case{"memcached", "INDEXER_TEST_MEMCACHED", true, false},
                      Case{"memcached_versioned", "INDEXER_TEST_MEMCACHED", true, true}),
    [](const ::testing::TestParamInfo<Case>& case_info) { return std::string(case_info.param.name); });

}  // namespace
}  // namespace indexer::testing
