#include "support/e2e.hpp"

#include "support/e2e_extra.hpp"

#include "support/test_services.hpp"

#include <libmemcached/memcached.h>
#include <signal.h>
#include <pqxx/pqxx>

#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

namespace indexer::testing {

std::string indexer_binary() {
#ifdef INDEXER_BINARY_DIR
    return std::string(INDEXER_BINARY_DIR) + "/indexer/indexer";
#else
    throw std::runtime_error("INDEXER_BINARY_DIR is not defined for this test executable");
#endif
}

std::filesystem::path scratch_directory(const std::string& name) {
    const std::filesystem::path directory =
        std::filesystem::temp_directory_path() / ("indexer-test-" + unique_name(name));
    std::filesystem::remove_all(directory);
    std::filesystem::create_directories(directory);
    return directory;
}

// ---------------------------------------------------------------------------

Database::Database(std::string url) : url_(std::move(url)) {}

void Database::execute(const std::string& sql) const {
    pqxx::connection connection(url_);
    pqxx::nontransaction tx(connection);
    tx.exec(sql);
}

std::map<std::string, nlohmann::json> Database::rows(const std::string& table,
                                                     const std::string& id_column) const {
    pqxx::connection connection(url_);
    pqxx::nontransaction tx(connection);
    const pqxx::result result =
        tx.exec("SELECT t." + tx.quote_name(id_column) + "::text, row_to_json(t)::text FROM " +
                tx.quote_name(table) + " AS t");
    std::map<std::string, nlohmann::json> rows;
    for (const auto& row : result)
        rows[row[0].as<std::string>()] = nlohmann::json::parse(row[1].as<std::string>());
    return rows;
}

std::string Database::scalar(const std::string& sql) const {
    pqxx::connection connection(url_);
    pqxx::nontransaction tx(connection);
    const pqxx::result result = tx.exec(sql);
    if (result.empty() || result[0][0].is_null()) return {};
    return result[0][0].as<std::string>();
}

// ---------------------------------------------------------------------------

IndexerProcess::IndexerProcess(const std::string& name, const std::string& config_yaml,
                               const std::vector<std::string>& extra_arguments,
                               const std::map<std::string, std::string>& environment)
    : name_(name), directory_(scratch_directory(name)), environment_(environment) {
    config_file_ = directory_ / "indexer.yaml";
    std::ofstream config(config_file_);
    config << config_yaml;
    // Several indexers run at once in the suites: each gets its own free port
    // for the metrics and health endpoint unless the test chose one.
    if (config_yaml.find("\nhttp:") == std::string::npos && config_yaml.rfind("http:", 0) != 0) {
        config << "\nhttp:\n  listen: \"" << free_listen_address() << "\"\n";
    }
    config.close();
    arguments_ = {"run", "-c", config_file_.string()};
    arguments_.insert(arguments_.end(), extra_arguments.begin(), extra_arguments.end());
    restart();
}

void IndexerProcess::restart() {
    process_.reset();
    const auto log = directory_ / ("indexer-" + std::to_string(++starts_) + ".log");
    process_ = std::make_unique<ChildProcess>(indexer_binary(), arguments_, log, environment_);
}

std::optional<int> IndexerProcess::stop(std::chrono::milliseconds timeout) {
    process_->signal(SIGTERM);
    return process_->wait(timeout);
}

void IndexerProcess::kill() {
    process_->signal(SIGKILL);
    (void)process_->wait(std::chrono::seconds(10));
}

// ---------------------------------------------------------------------------

std::vector<std::string> differences(const std::map<std::string, nlohmann::json>& expected,
                                     const std::map<std::string, nlohmann::json>& actual) {
    std::vector<std::string> lines;
    for (const auto& [id, row] : expected) {
        const auto found = actual.find(id);
        if (found == actual.end()) {
            lines.push_back("id " + id + ": in PostgreSQL, missing from the sink");
            continue;
        }
        const nlohmann::json& document = found->second;
        for (const auto& [field, value] : row.items()) {
            if (!document.contains(field)) {
                lines.push_back("id " + id + ": field " + field + " missing from the sink");
            } else if (document.at(field) != value) {
                lines.push_back("id " + id + ": " + field + " is " + value.dump() + " in PostgreSQL, " +
                                document.at(field).dump() + " in the sink");
            }
        }
        for (const auto& [field, value] : document.items()) {
            if (!row.contains(field)) lines.push_back("id " + id + ": field " + field + " only in the sink");
        }
    }
    for (const auto& [id, document] : actual) {
        if (!expected.contains(id)) lines.push_back("id " + id + ": in the sink, gone from PostgreSQL");
    }
    return lines;
}

std::vector<std::string> wait_until_index_matches(const Database& database, const std::string& table,
                                                  const SearchIndex& index, std::chrono::milliseconds timeout,
                                                  const std::string& id_column) {
    std::vector<std::string> last;
    const auto expected = database.rows(table, id_column);
    std::vector<std::string> ids;
    for (const auto& [id, row] : expected) ids.push_back(id);
    (void)eventually(
        [&] {
            const long count = index.count();
            std::map<std::string, nlohmann::json> actual = index.get(ids);
            last = differences(expected, actual);
            if (count != static_cast<long>(expected.size())) {
                last.push_back("the index holds " + std::to_string(count) + " documents, the table " +
                               std::to_string(expected.size()) + " rows");
            }
            return last.empty();
        },
        timeout);
    return last;
}

std::map<std::string, std::string> memcached_get(const std::string& server,
                                                 const std::vector<std::string>& keys) {
    const std::string options = "--SERVER=" + server;
    std::unique_ptr<memcached_st, decltype(&memcached_free)> client(
        memcached(options.c_str(), options.size()), &memcached_free);
    std::map<std::string, std::string> values;
    for (const std::string& key : keys) {
        size_t length = 0;
        uint32_t flags = 0;
        memcached_return_t rc;
        char* value = memcached_get(client.get(), key.data(), key.size(), &length, &flags, &rc);
        if (rc == MEMCACHED_SUCCESS && value != nullptr) values[key] = std::string(value, length);
        std::free(value);
    }
    return values;
}

std::vector<std::string> wait_until_cache_matches(const Database& database, const std::string& table,
                                                  const std::vector<std::string>& ids,
                                                  const std::string& server, const std::string& key_prefix,
                                                  std::chrono::milliseconds timeout) {
    std::vector<std::string> last;
    const auto rows = database.rows(table);
    std::vector<std::string> keys;
    for (const auto& id : ids) keys.push_back(key_prefix + id);
    (void)eventually(
        [&] {
            const auto values = memcached_get(server, keys);
            std::map<std::string, nlohmann::json> expected;
            std::map<std::string, nlohmann::json> actual;
            for (const auto& id : ids) {
                if (const auto row = rows.find(id); row != rows.end()) expected[id] = row->second;
                if (const auto value = values.find(key_prefix + id); value != values.end()) {
                    actual[id] = nlohmann::json::parse(value->second, nullptr, false);
                }
            }
            last = differences(expected, actual);
            return last.empty();
        },
        timeout);
    return last;
}

std::string summarize(const std::vector<std::string>& lines, std::size_t shown) {
    std::string text;
    for (std::size_t i = 0; i < lines.size() && i < shown; ++i) text += "\n  " + lines[i];
    if (lines.size() > shown) text += "\n  ... and " + std::to_string(lines.size() - shown) + " more";
    return text;
}

}  // namespace indexer::testing
