// Reindex targets (sink ABI 1.3): the requests that create a new physical
// index behind the configured name and move that name (an alias) onto it,
// and the mapping of their answers. Pure: no I/O, so that they are tested
// on captured and hostile answers.
#pragma once

#include <indexer/sink.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::sinks::elasticsearch {

// Why `name` cannot be an index (or alias) name, or nothing. The rules every
// supported server enforces: not empty, at most 255 bytes, valid UTF-8, no
// upper-case ASCII letter, none of \ / * ? " < > | , # : or space, not
// starting with - _ or +, not "." or "..". The server may still refuse a
// name for reasons of its own (its answer then says why).
std::optional<std::string> index_name_problem(std::string_view name);

// What the configured name is now, from GET /<name>/_alias.
struct NameState {
    enum class Kind { Absent, Alias, Index, Unknown };
    Kind kind = Kind::Unknown;
    // Alias: the indices it points to, sorted. Index: the name itself.
    std::vector<std::string> indices;
    // Unknown: why (the caller adds the request); `retry` says whether
    // asking again may help (no answer, 429, 5xx) or not.
    std::string failure;
    bool retry = true;
};

// Maps the answer to GET /<name>/_alias (status > 0):
//  - 200 {"<index>": {"aliases": {...}}, ...}: one key equal to `name` = the
//    name is a concrete index; otherwise the keys are the indices the alias
//    points to (each must list `name` among its aliases).
//  - 404 index_not_found_exception: absent.
//  - anything else, or a body that is not such an answer: Unknown.
NameState map_name_state(long http_status, std::string_view body, std::string_view name);

// The body of the one POST /_aliases that moves `alias` onto `target`:
// remove it from `previous` (the indices other than target it points to)
// and add it to `target`; for a concrete index of the alias's name,
// `replace_index` deletes that index in the same request (remove_index).
std::string switch_actions(std::string_view alias, std::string_view target,
                           const std::vector<std::string>& previous, bool replace_index);

// The outcome of a create or _aliases request.
struct TargetOutcome {
    indexer::sdk::Status status = indexer::sdk::Status::Retry;
    int native_code = 0;
    std::string message;  // why, for Retry and Reject
};

// PUT /<index> (status > 0): 2xx OK; resource_already_exists_exception (or
// an alias of that name) REJECT "already exists"; 408, 429, 5xx RETRY;
// other 4xx REJECT with the server's reason.
TargetOutcome map_create_response(long http_status, std::string_view body, std::string_view index);

// POST /_aliases (status > 0): 2xx with "acknowledged": true OK; 2xx
// without it RETRY (the cluster did not confirm: ask again); a missing
// target index REJECT; 408, 429, 5xx RETRY; other 4xx REJECT.
TargetOutcome map_aliases_response(long http_status, std::string_view body, std::string_view target);

// "a,b,c" of index names for a path (each escaped, the commas not).
std::string index_list_path(const std::vector<std::string>& indices);

}  // namespace indexer::sinks::elasticsearch
