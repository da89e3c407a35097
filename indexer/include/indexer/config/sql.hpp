// The pieces of SQL a configuration may contain, checked before anything
// reaches PostgreSQL: identifiers (table and column names) and the positional
// parameters of a custom query.
#pragma once

#include <indexer/util/status.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace indexer::config {

// A table name as PostgreSQL resolves it: unquoted parts folded to lower case,
// quoted parts exact. `schema` is empty when the name is not qualified (then
// the search_path decides).
struct TableName {
    std::string schema;
    std::string name;

    // For SQL text: every part double-quoted, so that it is always exactly this
    // table, e.g. "public"."products".
    std::string quoted() const;
    // For people and for the configuration file: parts quoted only when they
    // need it, e.g. public.products or public."Order Items".
    std::string to_string() const;

    bool operator==(const TableName&) const = default;
};

// One identifier: unquoted ([A-Za-z_][A-Za-z0-9_$]*, non-ASCII letters
// allowed, folded to lower case) or double-quoted ("" for a quote inside).
// At most 63 bytes, the longest name PostgreSQL keeps without truncating it.
Result<std::string> parse_sql_identifier(std::string_view text);

// `table` or `schema.table`, each part as parse_sql_identifier reads it.
Result<TableName> parse_table_name(std::string_view text);

// "name" with embedded quotes doubled: safe to put into SQL text.
std::string quote_sql_identifier(std::string_view name);

// The numbers of the positional parameters ($1, $2, ...) that a statement uses,
// sorted and without repeats, ignoring string literals, quoted identifiers,
// dollar-quoted strings and comments.
std::vector<int> sql_parameter_numbers(std::string_view sql);

}  // namespace indexer::config
