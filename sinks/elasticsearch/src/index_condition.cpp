#include "indexer/sinks/elasticsearch/index_condition.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace indexer::sinks::elasticsearch {
namespace {

struct Condition {
    std::string_view type;
    std::string_view reason_part;  // empty: the type alone decides; else a lower-case part of the reason
    std::string_view hint;
};

// Types and reasons as Elasticsearch 6-8 and OpenSearch 1-3 send them
// (tests/fixtures/elasticsearch/*/bulk-index-*.http were captured from real nodes).
constexpr std::array kConditions{
    // index.blocks.write / read_only / read_only_allow_delete (the disk flood-stage
    // watermark answers 403 before Elasticsearch 7.4, 429 since), or a cluster-wide block.
    Condition{"cluster_block_exception", "",
              "the index refuses writes (a block: index.blocks.write, read_only, the disk flood-stage "
              "watermark's read_only_allow_delete, or a cluster block); retried until it is lifted"},
    // action.auto_create_index is off and the index does not exist (or was deleted).
    Condition{"index_not_found_exception", "",
              "the index does not exist and the server does not create it (action.auto_create_index); "
              "retried until it exists"},
    Condition{"index_closed_exception", "", "the index is closed; retried until it is opened"},
    Condition{"illegal_argument_exception", "no write index is defined for alias",
              "the alias has no write index; retried until one is set (is_write_index)"},
    // "Alias [a] has more than one index/indices associated with it" (Elasticsearch 6, OpenSearch 1).
    Condition{"illegal_argument_exception", "associated with it",
              "the alias points to several indices and none is its write index; retried until one is set"},
    // A role that lacks the index privilege: the same for every document.
    Condition{"security_exception", "",
              "the credentials lack the privilege to write to the index; retried until granted"},
};

bool contains_lower(std::string_view text, std::string_view lower_part) {
    const auto it =
        std::search(text.begin(), text.end(), lower_part.begin(), lower_part.end(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    return it != text.end();
}

}  // namespace

std::optional<std::string_view> index_condition(std::string_view type, std::string_view reason) {
    for (const Condition& condition : kConditions) {
        if (condition.type != type) continue;
        if (condition.reason_part.empty() || contains_lower(reason, condition.reason_part))
            return condition.hint;
    }
    return std::nullopt;
}

}  // namespace indexer::sinks::elasticsearch
