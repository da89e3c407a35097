// End-to-end helpers: the real `indexer` binary on a generated configuration,
// a scratch table in PostgreSQL, and checks that a sink holds exactly what the
// database holds, compared field by field.
#pragma once

#include "support/process.hpp"
#include "support/search_index.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace indexer::testing {

// ${INDEXER_BINARY_DIR}/indexer/indexer
std::string indexer_binary();

// A fresh directory under the system's temporary directory.
std::filesystem::path scratch_directory(const std::string& name);

// Runs SQL on the test database (INDEXER_TEST_POSTGRES).
class Database {
public:
    explicit Database(std::string url);
    void execute(const std::string& sql) const;
    // Every row of `table` as PostgreSQL renders it (row_to_json), by the id's text.
    std::map<std::string, nlohmann::json> rows(const std::string& table,
                                               const std::string& id_column = "id") const;
    // The first column of the first row as text ("" when there is none).
    std::string scalar(const std::string& sql) const;
    const std::string& url() const noexcept { return url_; }

private:
    std::string url_;
};

// `indexer run -c <config>` as a user runs it; the configuration is written to
// a scratch directory. Stopped with SIGKILL when destroyed while running.
class IndexerProcess {
public:
    IndexerProcess(const std::string& name, const std::string& config_yaml,
                   const std::vector<std::string>& extra_arguments = {},
                   const std::map<std::string, std::string>& environment = {});
    ChildProcess& process() { return *process_; }
    const std::filesystem::path& config_file() const noexcept { return config_file_; }
    // SIGTERM, then waits; returns the exit status (nothing on timeout).
    std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(60));
    void kill();  // SIGKILL, as a crash
    // Starts it again on the same configuration (after stop() or kill()).
    void restart();
    std::string output() const { return process_->output(); }

private:
    std::string name_;
    std::filesystem::path directory_;
    std::filesystem::path config_file_;
    std::vector<std::string> arguments_;
    std::map<std::string, std::string> environment_;
    int starts_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

// Differences between what the database holds and what the sink holds, one
// line each ("id 42: price is 9.99 in PostgreSQL, 10 in the index"); empty
// when they agree exactly: same ids, and every field of every document equal.
std::vector<std::string> differences(const std::map<std::string, nlohmann::json>& expected,
                                     const std::map<std::string, nlohmann::json>& actual);

// Waits until the index holds exactly the rows of `table`; returns the last
// differences seen (empty on success).
std::vector<std::string> wait_until_index_matches(const Database& database, const std::string& table,
                                                  const SearchIndex& index, std::chrono::milliseconds timeout,
                                                  const std::string& id_column = "id");

// Reads keys from memcached: the value of each key that exists.
std::map<std::string, std::string> memcached_get(const std::string& server,
                                                 const std::vector<std::string>& keys);

// Waits until memcached holds, under key_prefix + id, exactly the row of every
// id in `ids` that exists in `table`, and nothing for the ids that do not.
std::vector<std::string> wait_until_cache_matches(const Database& database, const std::string& table,
                                                  const std::vector<std::string>& ids,
                                                  const std::string& server, const std::string& key_prefix,
                                                  std::chrono::milliseconds timeout);

// A compact summary for assertion messages: the first few lines and a count.
std::string summarize(const std::vector<std::string>& lines, std::size_t shown = 10);

}  // namespace indexer::testing
