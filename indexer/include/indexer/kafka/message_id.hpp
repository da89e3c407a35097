// Finding the id of the changed row in a message (DESIGN.md §1). Accepted:
//   {"id": 42} / {"id": "6f1c..."}      the id in a field of a JSON object
//   42 / "6f1c..."                       a bare JSON number or string
//   empty or null value                  the id is the message key
//   {"payload": {"id": 42}, "created_at": 1700000000}
//                                        KafkaSync's delay wrapper: the id is
//                                        taken from the payload
// Integer ids keep their exact decimal text (never converted through double, so
// ids beyond 2^53 survive). Integers beyond 64 bits are kept too, digits intact,
// as integer ids: whether the id column can hold one is the loader's id-type
// check (a bigint column dead-letters it as out of range, a numeric column
// takes it). String ids are decoded and must not be empty. An id longer than
// max_id_bytes is refused. Everything else is an error whose message says what
// was wrong, at most a few hundred bytes long and never echoing a long token.
//
// Never throws and never recurses on the input's nesting (json_scan.hpp): any
// byte string gives an id or an error.
#pragma once

#include <indexer/util/status.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace indexer::kafka {

// No datastore keys documents by more (Elasticsearch allows 512 bytes).
inline constexpr std::size_t max_id_bytes = 4096;

enum class IdKind { integer, string };

std::string_view to_string(IdKind kind) noexcept;

struct MessageId {
    std::string text;  // "42", "-7", "18446744073709551615", "6f1c...", "sku-1"
    IdKind kind = IdKind::string;

    friend bool operator==(const MessageId&, const MessageId&) = default;
};

// `field` is the JSON field holding the id (the pipeline's id_field, "id" by
// default). A key used as the id is of kind integer when it is written as a
// JSON integer would be ("42", "-7"), else of kind string.
Result<MessageId> extract_id(const std::optional<std::string>& key, const std::optional<std::string>& value,
                             std::string_view field = "id");

}  // namespace indexer::kafka
