// More end-to-end helpers, next to e2e.hpp: documents computed by an SQL query
// (custom sources), an index compared to any expected set of documents, index
// creation with a mapping, document versions, committed offsets, and the
// dead-letter and log inspection the bad-input suites need.
#pragma once

#include "support/e2e.hpp"
#include "support/kafka_client.hpp"
#include "support/search_index.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace indexer::testing {

// Runs `action` when the scope ends, however the test leaves it (an ASSERT
// returns early): drops the tables and deletes the indices a test made.
// Errors are swallowed, a cleanup never hides the test's own failure.
class Cleanup {
public:
    explicit Cleanup(std::function<void()> action) : action_(std::move(action)) {}
    ~Cleanup();
    Cleanup(const Cleanup&) = delete;
    Cleanup& operator=(const Cleanup&) = delete;

private:
    std::function<void()> action_;
};

// Runs `query` (a pipeline's custom query: one parameter $1, the id array) on
// the test database with $1 bound to `id_array` (a PostgreSQL array literal
// such as "{1,2,3}"), and returns each row's `document` by the text of its
// `id_column`, exactly as the pipeline's contract reads it. Rows whose
// document is NULL are left out (the pipeline deletes those ids).
std::map<std::string, nlohmann::json> query_documents(const Database& database, const std::string& query,
                                                      const std::string& id_array,
                                                      const std::string& id_column = "id");

// Waits until the index holds exactly `expected`: the same ids and every field
// of every document equal. Counts first (cheap) and fetches every document
// only when the count is right, so that it suits tens of thousands of
// documents. Returns the last differences seen (empty on success).
std::vector<std::string> wait_until_index_holds(const SearchIndex& index,
                                                const std::map<std::string, nlohmann::json>& expected,
                                                std::chrono::milliseconds timeout);

// PUT /<index> with `body` (settings, mappings); throws unless acknowledged.
void create_index(const std::string& base_url, const std::string& index, const nlohmann::json& body);

// The _version of each id that exists in the index (an _mget with versions).
std::map<std::string, long> document_versions(const std::string& base_url, const std::string& index,
                                              const std::vector<std::string>& ids);

// The sum over the partitions of `topic` of the offsets committed by `group`
// (partitions without a commit count 0).
std::int64_t committed_total(const std::string& brokers, const std::string& group, const std::string& topic);

// Waits until committed_total() reaches `total`; returns the last sum seen.
std::int64_t wait_until_committed(const std::string& brokers, const std::string& group,
                                  const std::string& topic, std::int64_t total,
                                  std::chrono::milliseconds timeout);

// "127.0.0.1:<port>" with a port that was free a moment ago, for the
// configuration's http.listen: the default 127.0.0.1:9464 is taken by the
// first indexer that runs on the machine, and start-up fails when it is.
std::string free_listen_address();

// `text` as a JSON string literal ("a \"b\"" for a "b").
std::string json_string(const std::string& text);

// Where a message sits, as the dead-letter headers name it.
struct MessagePosition {
    std::int32_t partition = 0;
    std::int64_t offset = 0;
};

// What a dead letter says about the message it copies; the lines are empty
// when every expectation holds:
//  - its key and value are the original's, byte for byte (absent stays absent);
//  - indexer.stage is `stage`, indexer.pipeline is `pipeline`, indexer.reason is
//    not empty and contains `reason_contains` (when given);
//  - indexer.source.topic/partition/offset name `source_topic` and `original`'s place.
std::vector<std::string> dead_letter_problems(const ReadMessage& letter, const ReadMessage& original,
                                              const std::string& source_topic, const std::string& pipeline,
                                              const std::string& stage,
                                              const std::string& reason_contains = {});

// The numbers of the pipeline's batch log lines ("<n> messages, <m> ids: <u>
// upserts, <d> deletes, <l> dead letters", logged at debug level), in order.
struct BatchLine {
    long messages = 0;
    long ids = 0;
    long upserts = 0;
    long deletes = 0;
    long dead_letters = 0;
};
std::vector<BatchLine> batch_lines(const std::string& log);

}  // namespace indexer::testing
