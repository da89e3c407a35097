// Maps the answers to the requests that read an index back (for `indexer
// verify`): `_mget` by id, and the pages of a scroll over every id. Pure: no
// I/O, so that they are tested on captured and hostile answers.
#pragma once

#include <indexer/sink.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::sinks::elasticsearch {

// The answer for one id of an _mget.
struct DocumentOutcome {
    indexer::sdk::Status status = indexer::sdk::Status::Unset;  // Ok = found, NotFound, Retry
    int native_code = 0;
    std::string message;        // why, for Retry
    std::string_view document;  // Ok: `_source` as the server sent it, a slice of the body; empty without one
    std::uint64_t version = 0;  // Ok: `_version`; 0 when absent
};

struct MgetMapping {
    // One per id of the request, in order; empty when `failure` is set.
    std::vector<DocumentOutcome> documents;
    // Set when the answer as a whole says nothing per id: every id is RETRY
    // with it (the caller adds which request it was).
    std::string failure;
    // With `failure`: true when every id is simply absent (the index does
    // not exist), so NotFound rather than RETRY.
    bool all_not_found = false;
};

// Maps an HTTP answer (status > 0) to an _mget of `ids` ids:
//  - 200: `docs` must hold one entry per id, in request order (as
//    Elasticsearch and OpenSearch answer). found:true = Ok with `_source` and
//    `_version`; found:false = NotFound; an entry with an `error` is NotFound
//    when it says the index does not exist, otherwise RETRY with the reason.
//  - 404 index_not_found_exception: every id NotFound.
//  - anything else, or a body that is not such an answer: every id RETRY.
MgetMapping map_mget_response(long http_status, std::string_view body, std::size_t ids);

// One page of a scroll.
struct ScrollPage {
    std::vector<std::string> ids;
    std::string scroll_id;
    // Set when the answer is not a page: why (the caller decides between
    // RETRY and REJECT). A page with failed shards is such an answer: its
    // ids would silently miss documents.
    std::string failure;
    // With `failure`: the index does not exist (a first page of nothing).
    bool index_missing = false;
    // With `failure`: the scroll's context is gone (expired, node restarted).
    bool context_missing = false;
};

// The query string of every scroll request: only the ids, the scroll id and
// what says whether every shard answered.
inline constexpr std::string_view kScrollFilterPath =
    "filter_path=_scroll_id,hits.hits._id,_shards.failed,_shards.failures,timed_out,error,status";

ScrollPage map_scroll_response(long http_status, std::string_view body);

}  // namespace indexer::sinks::elasticsearch
