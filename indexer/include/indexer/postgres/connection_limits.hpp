// The limits every connection to PostgreSQL is opened with, so that neither a
// host that stops answering nor a statement stuck behind a lock can hold a
// load for ever:
//
//  * connect_timeout: libpq's `connect_timeout`, in whole seconds rounded up
//    and at least 2 (libpq's own minimum); it bounds each connection attempt,
//    including a server that accepts the TCP connection and never answers.
//  * statement_timeout: the server's `statement_timeout`, set through libpq's
//    `options` (`-c statement_timeout=<ms>`); zero is no limit. Waiting for a
//    lock is part of a statement, so a reload blocked by an ACCESS EXCLUSIVE
//    lock fails with SQLSTATE 57014 (retryable) once it has waited that long;
//    there is no separate lock_timeout (one set in `options` by the user is
//    kept, and its 55P03 is retryable too).
//  * TCP keepalives (idle 30 s, then every 10 s, 3 probes) and a 60 s
//    `tcp_user_timeout`: a peer that vanished mid-query is noticed within
//    about a minute rather than after the kernel's two hours.
//
// A setting the user wrote in the URL or key=value string wins over these
// (`postgresql://db/shop?connect_timeout=5`, `options='-c statement_timeout=0'`).
#pragma once

#include <indexer/config/config.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace indexer::postgres {

struct ConnectionLimits {
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
    std::chrono::milliseconds statement_timeout{std::chrono::seconds(30)};  // zero: no limit
};

// The limits of `postgres.connect_timeout` and `postgres.statement_timeout`.
ConnectionLimits connection_limits(const config::PostgresConfig& postgres);

// The connection string libpq is given: `url` (URL or key=value form) read by
// libpq itself and written back as key=value pairs, with the limits added
// where `url` does not set them. A string libpq cannot read is returned as
// it is, so that connecting reports libpq's own error.
std::string limited_connection_string(std::string_view url, const ConnectionLimits& limits);

}  // namespace indexer::postgres
