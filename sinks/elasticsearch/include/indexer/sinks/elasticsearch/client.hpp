// Writes ops to an Elasticsearch/OpenSearch cluster through _bulk: plans the
// requests, runs several at once over the transport, fails over between
// hosts, splits what the server finds too large, and maps every answer back
// to a result per op. Also probes the cluster and creates the index.
#pragma once

#include <indexer/sink.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "indexer/sinks/elasticsearch/bulk_response.hpp"
#include "indexer/sinks/elasticsearch/config.hpp"
#include "indexer/sinks/elasticsearch/gzip.hpp"
#include "indexer/sinks/elasticsearch/host_pool.hpp"
#include "indexer/sinks/elasticsearch/http_transport.hpp"
#include "indexer/sinks/elasticsearch/redact.hpp"

namespace indexer::sinks::elasticsearch {

// Where the client's log lines go (the plugin passes the host's log).
using Logger = std::function<void(indexer::sdk::LogLevel, const std::string&)>;

struct WriteReport {
    // One per op, unless call_failure is set.
    std::vector<OpOutcome> outcomes;
    // Set when no server answered at all: every op is RETRY with this message.
    std::optional<std::string> call_failure;
};

class Client {
public:
    // No I/O.
    Client(Config config, Logger logger);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Creates config.index from config.create_index when it is missing.
    // Throws ConfigError when the server refuses (e.g. invalid mappings); when
    // no server answers, creation is tried again before the next write.
    void prepare();

    // Returns by control's deadline, or within about 50 ms of its stop:
    // requests in flight are dropped and every op without an answer is RETRY
    // saying why.
    WriteReport write(std::span<const indexer::sdk::Op> ops, const indexer::sdk::WriteControl& control = {});

    // Reads the documents stored under `ids` in `target` (config.index when
    // empty) with _mget, max_request_ops ids per request, and answers every
    // id: found with `_source` byte for byte and `_version`, not found, RETRY,
    // or REJECT (without I/O) for an id no document can have. Bounded by
    // `control` like a write.
    void read(std::span<const std::string_view> ids, std::string_view target,
              indexer::sdk::ReadResults& results, const indexer::sdk::WriteControl& control = {});

    // One page of a scroll over every id of `target` (config.index when
    // empty): `cursor` empty starts one. The cursor is "scroll:<page
    // size>:<scroll id>"; the scroll is cleared once it is exhausted. A
    // continuation that fails is REJECT: the server may have moved the
    // scroll on, so the page cannot be asked for again.
    void list(std::string_view cursor, std::string_view target, indexer::sdk::ListPage& page,
              const indexer::sdk::WriteControl& control = {});

    // Reindex targets (sink ABI 1.3; README "Reindex targets").
    // PUT /<config.index>-<suffix> with config.create_index's body (none:
    // the server's defaults): result.ok(the name), REJECT when the name is
    // not a valid index name or is taken, RETRY when no server answered in
    // time. Bounded by `control` like a write.
    void create_target(std::string_view suffix, indexer::sdk::TargetResult& result,
                       const indexer::sdk::WriteControl& control = {});
    // Moves config.index onto `target` in one POST /_aliases, whatever the
    // name is now (an alias, nothing, or a concrete index: remove_index), and
    // unless keep_old deletes the indices it pointed to before.
    // result.ok(those indices, comma-separated). keep_old on a concrete index
    // that holds documents is REJECT.
    void switch_target(std::string_view target, bool keep_old, indexer::sdk::TargetResult& result,
                       const indexer::sdk::WriteControl& control = {});

    // OK when a host answers GET /_cluster/health with green or yellow (or,
    // for credentials that may not read cluster health, GET /); otherwise
    // RETRY with the reason.
    indexer::sdk::Status health(std::string& reason);

    const Config& config() const noexcept { return config_; }

private:
    struct Request;
    struct Call;
    enum class IndexState { Ready, Pending, Refused };

    IndexState ensure_index(std::string& why, const indexer::sdk::WriteControl& control = {});
    void interrupt(Call& call, std::string_view why);
    void start(Call& call, std::size_t request);
    void on_answer(Call& call, std::size_t request, const HttpResponse& response);
    void finish(Call& call, std::size_t request);
    void log(indexer::sdk::LogLevel level, const std::string& message) const;
    // Sends the request to the hosts in turn until one answers over HTTP
    // (status > 0); `host` is the last one asked. Without fail_over only one
    // host is asked. Status 0 when none answered (error: each host's), or
    // when `control` abandoned it (abandoned set).
    HttpResponse on_any_host(std::string_view method, std::string_view path, std::string_view body,
                             const indexer::sdk::WriteControl& control, bool fail_over, std::size_t& host);
    void read_batch(std::span<const std::string_view> ids, std::span<const std::size_t> batch,
                    std::string_view index, indexer::sdk::ReadResults& results,
                    const indexer::sdk::WriteControl& control);
    void clear_scroll(const std::string& scroll_id, const indexer::sdk::WriteControl& control);
    // The documents `index` holds once refreshed, or nothing with `why`.
    std::optional<std::uint64_t> count_documents(const std::string& index,
                                                 const indexer::sdk::WriteControl& control, std::string& why);

    Config config_;
    Logger logger_;
    Redactor redact_;
    HostPool hosts_;
    HttpTransport transport_;
    GzipCompressor gzip_;
    bool index_pending_ = false;
};

}  // namespace indexer::sinks::elasticsearch
