// How libpqxx's exceptions become the core's Status values: retryable when the
// connection or the server's momentary state is at fault, permanent otherwise.
#pragma once

#include <indexer/util/status.hpp>

#include <string>
#include <string_view>

namespace indexer::postgres::detail {

// Call only inside a catch block. `context` leads the message, e.g.
// "pipeline 'products': cannot connect to PostgreSQL". A failure that left the
// connection closed is always retryable.
Status status_from_current_exception(std::string_view context, bool connection_open);

// True for SQLSTATEs that mean "this value cannot be used" rather than "this
// statement cannot run": class 22 (data exception: invalid text
// representation, numeric value out of range, ...) and 23514 (a domain's CHECK).
// A batch failing with one of them is split to find the offending ids.
bool is_value_error(std::string_view sqlstate) noexcept;

// True for SQLSTATEs worth retrying: connection exceptions, shutdowns and
// restarts, lack of resources, serialization failures, cancelled statements.
bool is_retryable_sqlstate(std::string_view sqlstate) noexcept;

// libpqxx's message without the "ERROR:  " prefix, trailing newlines and the
// process's secrets (config::redact); `first_line_only` drops CONTEXT/LINE/HINT
// lines.
std::string server_message(std::string_view what, bool first_line_only);

}  // namespace indexer::postgres::detail
