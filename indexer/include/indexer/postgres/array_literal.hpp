// PostgreSQL array literals built client-side, so that a whole batch of ids
// travels as one text parameter that SQL casts to the id column's array type
// (libpqxx 6.4 has no container-to-array conversion).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace indexer::postgres {

// `{"a","b\"c"}`: every element double-quoted, with backslash and double quote
// escaped by a backslash, so commas, braces, spaces, the word NULL and any
// UTF-8 text stay data. An empty span gives `{}`.
std::string make_array_literal(std::span<const std::string> elements);
std::string make_array_literal(std::span<const std::string_view> elements);

}  // namespace indexer::postgres
