// `indexer verify`: compares the whole source of a pipeline with its sink and
// reports (and with --repair fixes) the drift, with bounded memory.
//
//  1. Source pass: the table's ids in id order, a page at a time
//     (postgres/source_scan.hpp); each page loaded by the pipeline's own
//     loader (the documents and versions the pipeline writes) and read back
//     from the sink (sink ABI 1.2 read). An id the sink does not hold is
//     missing; one it holds differently is stale (see below).
//  2. Sink pass: the sink's ids, a page at a time (sink ABI 1.2 list); each
//     page looked up by the loader. An id without a row is extra (also an id
//     the id column cannot hold, and one written in another form than the
//     row's key, "007" for 7). Entries the sink cannot name are counted as
//     unlisted.
//  3. Every apparent difference is checked again before it is reported: at
//     least a second after it was seen, the id is read from the sink and its
//     row loaded once more, so that a write of the running pipeline that
//     raced with the pass is not reported.
//
// "Different": with versions (source.version) and a sink that stores them
// (a read returns a non-zero version), a stored version other than the row's
// is stale. Otherwise, and when the versions are equal, the stored document
// and the row's document are parsed as JSON and compared as values: key
// order and whitespace do not matter, numbers are equal by value (12.50 and
// 12.5, 1 and 1.0), strings byte for byte. A stored document that is not
// JSON is stale; an empty one (an index without _source) is not compared.
//
// --repair writes each confirmed difference through the sink's normal write
// path: missing and stale ids are upserted with the row (and its version),
// extras deleted (with the database's clock as version for timestamp
// versions, as the pipeline's deletes; unversioned otherwise). Each repaired
// id is read back once more and counted repaired only when it now agrees.
//
// Memory: one page of ids, rows and stored documents per pass, at most a page
// of ids waiting for their second check, and five examples per kind.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace indexer::cli {

struct VerifyOptions {
    std::filesystem::path config_file;
    std::string pipeline;
    bool repair = false;
    bool json = false;  // one JSON object on stdout instead of text
    std::vector<std::string> plugin_dirs;
};

// Returns the exit code: 0 the sink agrees with the source (with --repair:
// every difference was repaired), kExitDrift (4) differences were found (with
// --repair: some could not be repaired), 1 the comparison could not finish
// (database or sink failing), 2 invalid configuration, unknown pipeline or a
// pipeline whose source is a custom query, 3 start-up failed (plugin, sink
// without read/list, database). The report goes to `out`; errors and
// progress to `errors`.
int verify_command(const VerifyOptions& options, std::ostream& out, std::ostream& errors);

}  // namespace indexer::cli
