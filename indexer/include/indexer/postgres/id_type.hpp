// What an id column can hold, checked and written in PostgreSQL's own text form
// before a batch reaches the database, so that one bad id is reported alone
// instead of failing the whole batch, and so that "007" and "7" meet as one id.
#pragma once

#include <indexer/util/status.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace indexer::postgres {

// The id column types checked client-side. Every other type (numeric, date,
// citext, enums, ...) is `other`: the server casts and prints those ids.
enum class IdKind { smallint, integer, bigint, uuid, text, other };

// The kind of a type given by its OID (for a domain, pass its base type's OID).
// text covers text and varchar; bpchar and name are `other` because PostgreSQL
// pads or truncates them.
IdKind id_kind_from_type_oid(std::uint32_t oid) noexcept;

std::string_view to_string(IdKind kind) noexcept;

// The id as PostgreSQL prints a value of that kind, or an error saying why the
// column cannot hold it:
//   smallint/integer/bigint: optional surrounding whitespace and sign, decimal
//     digits, within range; printed without sign or leading zeros ("+007" -> "7").
//   uuid: 32 hex digits, optional braces, optional hyphen after any group of four
//     (PostgreSQL's input rules); printed lower-case as 8-4-4-4-12.
//   text: unchanged.
//   other: unchanged (the server canonicalises it).
// For every kind the id must be valid UTF-8 without NUL bytes.
Result<std::string> canonical_id(IdKind kind, std::string_view id);

}  // namespace indexer::postgres
