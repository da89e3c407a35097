// Turns ops into _bulk requests: NDJSON action/document lines, and the
// partition of one write call into requests capped by bytes and by count.
#pragma once

#include <indexer/sink.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::sinks::elasticsearch {

// Elasticsearch refuses longer ids (the whole request fails validation).
inline constexpr std::size_t kMaxIdBytes = 512;

struct RequestLimits {
    std::size_t max_bytes = std::size_t{5} * 1024 * 1024;  // uncompressed NDJSON
    std::size_t max_ops = 1000;
};

// Why no document can be stored under `id` (empty, longer than
// kMaxIdBytes, not UTF-8), or nullopt when one can.
std::optional<std::string> id_problem(std::string_view id);

// Why an op cannot be sent, found without asking the server; nullopt when it
// can be sent. These are the mistakes that would otherwise fail a whole
// request and take its other ops down with it.
std::optional<std::string> check_op(const indexer::sdk::Op& op, std::string_view default_index);

// Appends the lines of one op that passed check_op: the action line and, for
// an upsert, the document line.
void append_op(std::string& body, const indexer::sdk::Op& op, std::string_view default_index);

// Appends `text` as a JSON string literal (quotes included); false when it is
// not valid UTF-8 (nothing is appended then).
bool append_json_string(std::string& out, std::string_view text);

struct PlannedRequest {
    std::vector<std::size_t> ops;    // indices into the call's ops, in order
    std::string body;                // NDJSON, uncompressed
    std::vector<std::size_t> after;  // requests of the plan that must finish before this one starts
};

struct RejectedOp {
    std::size_t op;
    std::string reason;
};

struct BulkPlan {
    std::vector<PlannedRequest> requests;
    std::vector<RejectedOp> rejected;  // refused by check_op
    // Per op: the index of the previous op on the same document (index and
    // id) in this call, or kNone.
    std::vector<std::size_t> previous_same_document;
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
};

// Packs the ops, in order, into requests of at most `limits.max_ops` ops and
// `limits.max_bytes` bytes (an op bigger than that travels alone). Requests
// run concurrently, so a request holding a document that an earlier request
// also holds waits for it: writes to one document keep their order.
BulkPlan plan_bulk(std::span<const indexer::sdk::Op> ops, std::string_view default_index,
                   RequestLimits limits);

// The body of a request made of some ops (which passed check_op), e.g. half of
// a request the server found too large.
std::string build_body(std::span<const indexer::sdk::Op> ops, std::span<const std::size_t> indices,
                       std::string_view default_index);

// True when two groups of ops share a document (index and id).
bool share_documents(std::span<const indexer::sdk::Op> ops, std::span<const std::size_t> first,
                     std::span<const std::size_t> second, std::string_view default_index);

}  // namespace indexer::sinks::elasticsearch
