// Start-up description of a source: the statements a loader prepares on every
// connection, found by asking the catalog (table source) or by preparing and
// describing the user's query (custom source).
#pragma once

#include <indexer/postgres/batch_loader.hpp>
#include <indexer/postgres/id_type.hpp>
#include <indexer/util/status.hpp>

#include <string>

namespace pqxx {
class connection_base;
}

namespace indexer::postgres::detail {

// Prepared statement names, per connection.
inline constexpr const char* kLoadStatement = "indexer_load";
inline constexpr const char* kCanonicaliseStatement = "indexer_canonicalise";
inline constexpr const char* kPairStatement = "indexer_pair";
inline constexpr const char* kSampleStatement = "indexer_sample";

struct SourcePlan {
    // $1 = id array literal -> (id::text, document[, version as decimal text]);
    // see batch_loader.hpp. With timestamp versions a fourth column is NULL
    // on every row but one more, the "clock row" (NULL id, document and
    // version): the statement's start on the database's clock, in microseconds.
    std::string load_sql;
    // $1 = text[] of ids -> (id, id::<type>::text): PostgreSQL's form of ids
    // whose kind is `other`.
    std::string canonicalise_sql;
    // $1 = text[] requested ids, $2 = text[] returned ids -> the pairs that are
    // equal as values of the id type.
    std::string pair_sql;
    // Table sources only: -> a few ids of the table (id::text), to test the
    // load statement on rows when no id of a batch loads.
    std::string sample_sql;
    std::string id_type;  // SQL name of the id type, as format_type() prints it
    IdKind id_kind = IdKind::other;
    // Versions (batch_loader.hpp): the expression's type.
    VersionKind version_kind = VersionKind::none;
    std::string version_type;
    std::string version_expression;  // as configured, for messages
    // Rows of the load statement that are no row of the source (the clock row).
    std::size_t extra_rows() const noexcept { return version_kind == VersionKind::timestamp ? 1 : 0; }
};

// Looks the source up through `connection`. Throws libpqxx's exceptions for
// database failures (a broken query is a pqxx::sql_error); returns an error
// Status for sources that break the contract (missing table, $1 not an array...).
// `version` is the version expression, empty for none.
Result<SourcePlan> describe_source(pqxx::connection_base& connection, const Source& source,
                                   const std::string& version);

// Defines the plan's statements on a fresh connection and prepares the load
// statement at once, so that a broken query shows up now. Throws on failure.
void prepare_statements(pqxx::connection_base& connection, const SourcePlan& plan);

}  // namespace indexer::postgres::detail
