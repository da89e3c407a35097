// Maps the answer to one _bulk request onto its ops. Pure: no I/O, so that
// it is tested with responses captured from real servers.
#pragma once

#include <indexer/sink.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::sinks::elasticsearch {

// The query string of every _bulk request: the response keeps only what the
// mapping reads (the same fields on Elasticsearch 7/8 and OpenSearch 1-3),
// which makes a 10 000-item answer a fraction of its full size.
inline constexpr std::string_view kBulkFilterPath =
    "filter_path=errors,items.*.status,items.*.result,items.*.error,error,status";

struct OpOutcome {
    indexer::sdk::Status status = indexer::sdk::Status::Unset;
    int native_code = 0;  // the item's (or the request's) HTTP status; 0 = no answer
    std::string message;  // why, for RETRY and REJECT
};

// What the mapping needs to know of each op of the request.
struct ItemContext {
    bool is_delete = false;
    bool external_version = false;  // the op carried a version
};

enum class ResponseAction {
    PerItem,  // `items` holds one outcome per op of the request
    Split,    // send each half of the request on its own (413, or a 400 of the whole request)
    AllOps,   // `all` is the outcome of every op of the request
};

struct ResponseMapping {
    ResponseAction action = ResponseAction::AllOps;
    std::vector<OpOutcome> items;
    OpOutcome all;
};

// Maps an HTTP answer (status > 0) to a _bulk request of `ops.size()` ops.
//  - 200: per item. 2xx = OK; 404 on a delete = OK (already gone); 409 on a
//    versioned op = OK (a newer version is stored); 408, 429 and 5xx = RETRY;
//    an error that names the index rather than the document (a block, a
//    missing or closed index, an alias without a write index, a missing
//    privilege: index_condition.hpp) = RETRY; any other status = REJECT with
//    the server's reason.
//  - 400 of the whole request: RETRY every op when the body is not
//    Elasticsearch's error JSON (a proxy answered) or names an index
//    condition; otherwise split while more than one op remains (one bad op
//    must not fail its neighbours), then REJECT the single op.
//  - 413: split while more than one op remains, then REJECT the single op.
//  - anything else (429, 5xx, 401, 403, ...): RETRY every op of the request.
ResponseMapping map_bulk_response(long http_status, std::string_view body, std::span<const ItemContext> ops);

// "type: reason (caused by: type: reason)" from an Elasticsearch error
// object, or the raw text when it is not one.
std::string describe_error(std::string_view error_json);

// The `type` of an Elasticsearch error object, or of the `error` of a whole
// answer ({"error": {"type": ...}}); empty when the text is neither.
std::string error_type(std::string_view error_json);

}  // namespace indexer::sinks::elasticsearch
