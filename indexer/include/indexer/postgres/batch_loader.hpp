// Reloads a batch of rows from PostgreSQL by id: one prepared query per batch,
// the ids bound as ONE array parameter of the id column's type, never spliced
// into SQL. Found ids become documents (upserts), the others are reported as
// missing (deletes), and ids the column type cannot hold are reported one by one
// as invalid (dead letters) while the rest of the batch loads.
//
// The source is one of:
//
//  * TableSource {table, id_column}. The document is the row as PostgreSQL
//    renders it, so every column type looks the way PostgreSQL prints JSON:
//        SELECT r.<id>::text, row_to_json(r.*) FROM <table> AS r
//        WHERE r.<id> = ANY($1::<id type>[])
//    `table` is an SQL name as it would be written in a query (`products`,
//    `shop.products`, `"Odd Schema"."My Table"`; a table, view, materialized
//    view, foreign or partitioned table); `id_column` likewise (`id`, `"ID"`).
//    Both are looked up in the catalog at start-up and written back quoted.
//
//  * QuerySource {query, id_column}: the contract of a custom query is
//      - exactly one parameter, $1, the array of ids; its type is the array of
//        the id type, inferred by PostgreSQL (`WHERE p.id = ANY($1)`) or written
//        out (`$1::uuid[]`);
//      - at most one row per id, with a column named by `id_column` holding the
//        id (same type as the elements of $1, non-NULL) and a column named
//        `document` of type json, jsonb, text or varchar holding the JSON
//        document; other columns are ignored;
//      - a NULL `document` means the id has no document: it is reported missing;
//      - one SELECT (WITH ... SELECT is fine), no trailing semicolon needed.
//    It runs wrapped as
//        SELECT q.<id>::text, q.document FROM (<query>) AS q
//    An id for which the query returns several rows is reported invalid (the
//    rest of the batch proceeds).
//
// Ids are matched to the query's rows in PostgreSQL's text form of the id type
// (the "canonical id"): smallint/integer/bigint/uuid/text/varchar ids are
// checked and canonicalised client-side (see id_type.hpp); ids of any other type
// are cast and printed by the server first. Rows whose id text matches no
// requested id are paired with the requested ids by the type's own equality on
// the server (citext, numeric scales); when even that fails, the ids left
// unmatched are reported invalid rather than missing, so that a mismatch never
// turns into deletions.
//
// Data exceptions (SQLSTATE class 22, e.g. 22P02 invalid input, 22003 out of
// range, 22012 division by zero; and 23514 a domain's CHECK): the batch is
// split in halves until the failing ids stand alone. Where the error lies:
//  * an id its type cannot hold ("abc" or 2^63 for a bigint key) is invalid:
//    it is rejected by the id check above, client-side or by the server's cast
//    of the bare id, before the load query runs, whatever the batch holds;
//  * an error of the load query (its expressions on the rows it reads) is
//    charged to the failing ids only when the query returns a row for some
//    other id: of the same batch, or else of a "witness" (one of the last ids
//    that loaded, or for a table source one read from the table). When no id
//    loads, the query or data every row shares is at fault (`1/0`, a column
//    whose values no longer cast): `load` fails with a retryable error and no
//    id is reported invalid, so the pipeline retries instead of dead-lettering
//    the stream. A custom-query pipeline whose first batch after start-up holds
//    only such failing ids therefore retries until the rows or the query are
//    fixed (no witness is known yet).
//
// Versions (optional, `version`): an SQL expression over the row (a column of
// the table, or a result column of the custom query) whose value orders a row's
// versions. Its type decides what the versions mean:
//  * timestamp with or without time zone (`updated_at`): microseconds since
//    1970-01-01 UTC (a timestamp without time zone is read as UTC). A missing
//    id's delete carries the database's clock in the same unit: the start of
//    the load statement that found the row gone (statement_timestamp(),
//    returned by that statement itself, no extra round trip). The row's last
//    change committed before that statement's snapshot, so the delete beats
//    every upsert the row had; a row inserted again commits after it and, when
//    its version is taken at or after its insert, beats the delete. The one
//    race left: a re-insert whose version was stamped before the load began
//    but that committed only after its snapshot (a transaction open across it)
//    loses to the delete until the sink forgets the delete (Elasticsearch's
//    index.gc_deletes) and a later announcement writes it again.
//  * smallint, integer or bigint (`lock_version + 1`): the value itself. A
//    delete then has no version of its own (0): nothing orders it against the
//    row's earlier or later lives.
// A row whose version is NULL, not positive (0 means "no version") or
// infinite is reported invalid with a reason naming the expression; the rest
// of the batch loads. The expression is spliced into the statements (it comes
// from the configuration, like a custom query) and checked at start-up: an
// expression that does not prepare or has another type is a permanent error.
//
// Start-up (`create`) connects, looks up the table and id column (or prepares
// and describes the custom query), and prepares the statement: a missing table
// or column or a broken query is a permanent error naming the pipeline and
// showing PostgreSQL's message; a database that cannot be reached is a
// retryable error.
//
// Connections: a pool of `pool_size` connections, opened on demand (the first
// one by `create`), each with `limits` (connection_limits.hpp): a load stuck
// behind a lock fails with a retryable error after the statement timeout, and
// a host that does not answer fails the connect after the connect timeout.
// Each `load` takes one for its duration, so up to pool_size batches load
// concurrently and further callers wait for a free connection.
// A connection that broke while idle (server restart, pg_terminate_backend) is
// replaced once transparently; a database that stays unreachable makes `load`
// return a retryable error, and the next call connects and prepares again.
#pragma once

#include <indexer/postgres/connection_limits.hpp>
#include <indexer/postgres/id_type.hpp>
#include <indexer/util/status.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace indexer::postgres {

struct TableSource {
    std::string table;      // SQL name, optionally schema-qualified
    std::string id_column;  // SQL name of the id column
};

struct QuerySource {
    std::string query;      // SELECT with one parameter $1 = the id array
    std::string id_column;  // SQL name of the result column that holds the id
};

using Source = std::variant<TableSource, QuerySource>;

// What a source's versions are, from the type of the version expression.
enum class VersionKind {
    none,       // no version configured: every op is unversioned (0)
    timestamp,  // microseconds since 1970-01-01 UTC; deletes carry the database's clock
    integer,    // the value itself; deletes are unversioned
};

struct BatchLoaderOptions {
    std::string pipeline;  // named in every error message and in application_name
    std::string url;       // libpq connection string or postgresql:// URL
    Source source;
    std::size_t pool_size = 1;  // connections, i.e. loads that may run at once
    ConnectionLimits limits;    // applied to every connection of the pool
    // SQL expression over the row that orders its versions; empty for none.
    std::string version;
};

// Every position of the ids given to `load` appears in exactly one of
// rows[].request_indexes, missing[].request_indexes or invalid[].request_index.
struct FoundRow {
    std::string id;                            // canonical id, as PostgreSQL printed it: the document's key
    std::string document;                      // JSON text
    std::uint64_t version = 0;                 // the row's version (see above); 0 without one
    std::vector<std::size_t> request_indexes;  // positions in `ids` naming this row
};

struct MissingId {
    std::string id;             // canonical id: the key of the document to delete
    std::uint64_t version = 0;  // the delete's version: the database's clock for timestamp versions, else 0
    std::vector<std::size_t> request_indexes;
};

struct InvalidId {
    std::size_t request_index;  // position in `ids`
    std::string reason;         // why it cannot be loaded, for the dead-letter headers
};

struct LoadStats {
    std::chrono::microseconds elapsed{0};  // wall time of the whole load
    std::size_t rows = 0;                  // rows found
    std::size_t queries = 0;               // statements executed (more when bad ids were isolated)
};

struct LoadedBatch {
    std::vector<FoundRow> rows;
    std::vector<MissingId> missing;
    std::vector<InvalidId> invalid;
    LoadStats stats;
};

class BatchLoader {
public:
    // Connects, checks the source and prepares the query (see above).
    static Result<BatchLoader> create(BatchLoaderOptions options);

    // Thread-safe. Errors are whole-batch failures (nothing was loaded):
    // retryable (connection lost, database down or restarting, out of
    // connections) or permanent (e.g. the table was dropped).
    Result<LoadedBatch> load(std::span<const std::string> ids);

    // The statement run for every batch, and the id type ("bigint", "uuid", ...).
    const std::string& query() const noexcept;
    const std::string& id_type() const noexcept;
    IdKind id_kind() const noexcept;
    // What the versions are; `none` without a version expression.
    VersionKind version_kind() const noexcept;
    // The version expression's type as PostgreSQL names it ("timestamp with time zone"); empty for none.
    const std::string& version_type() const noexcept;

    BatchLoader(BatchLoader&&) noexcept;
    BatchLoader& operator=(BatchLoader&&) noexcept;
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;
    ~BatchLoader();

    struct Impl;

private:
    explicit BatchLoader(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::postgres
