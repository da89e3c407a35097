// Streams every id of a pipeline's table source in id order, one page at a
// time, by keyset pagination (for `indexer verify`): memory holds one page,
// however large the table.
//
//   first page:  SELECT r.<id>::text FROM <table> AS r
//                WHERE r.<id> IS NOT NULL ORDER BY r.<id> LIMIT $1
//   next pages:  SELECT r.<id>::text FROM <table> AS r
//                WHERE r.<id> > $1::<id type> ORDER BY r.<id> LIMIT $2
//
// $1 of a next page is the last id of the previous one, in PostgreSQL's text
// form, cast back to the column's type. The order is the id column's own:
// its type's default btree operator class and, for text ids, the column's
// collation. That is the order of the primary key's index, so each page is an
// index range scan, and `>` and ORDER BY agree on it whatever the collation
// ("B" before "a" under "C", after it under en_US): every id comes exactly
// once. (Ordering by COLLATE "C" instead would make every page sort the whole
// table when the column has another collation.) A nondeterministic collation,
// under which distinct ids can compare equal, could skip ids; the key of a
// table source has a deterministic one in practice.
//
// Each page is its own statement, not one long transaction: rows inserted or
// deleted during the scan may or may not be seen, each other row exactly once.
// Rows whose id is NULL (a column without NOT NULL) are skipped.
//
// Only table sources can be scanned: a custom query is a function of an id
// array and cannot enumerate its ids.
#pragma once

#include <indexer/postgres/batch_loader.hpp>
#include <indexer/util/status.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace indexer::postgres {

class SourceScan {
public:
    // Connects (with options.limits and options.pipeline as application name)
    // and prepares both statements. `id_type` is the SQL type of the id column
    // as BatchLoader::id_type() gives it. Fails for a QuerySource, saying so.
    static Result<SourceScan> create(const BatchLoaderOptions& options, const std::string& id_type);

    // The next at most `max_ids` (>= 1) ids, after those returned so far, in
    // PostgreSQL's text form; empty once the table is exhausted. An error
    // leaves the position where it was: calling again repeats the page.
    // Database failures are retryable errors; the next call reconnects.
    Result<std::vector<std::string>> next(std::size_t max_ids);

    // The statement of the next pages, for messages and tests.
    const std::string& query() const noexcept;

    SourceScan(SourceScan&&) noexcept;
    SourceScan& operator=(SourceScan&&) noexcept;
    SourceScan(const SourceScan&) = delete;
    SourceScan& operator=(const SourceScan&) = delete;
    ~SourceScan();

    struct Impl;

private:
    explicit SourceScan(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::postgres
