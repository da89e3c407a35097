#include "pg_errors.hpp"

#include <indexer/config/redaction.hpp>

#include <fmt/format.h>

#include <exception>
#include <pqxx/except>

namespace indexer::postgres::detail {

bool is_value_error(std::string_view sqlstate) noexcept {
    return sqlstate.starts_with("22") || sqlstate == "23514";
}

bool is_retryable_sqlstate(std::string_view sqlstate) noexcept {
    // 08 connection exception, 40 transaction rollback, 53 insufficient
    // resources, 57 operator intervention (shutdown, cancel), 58 system error,
    // 55P03 lock not available.
    return sqlstate.starts_with("08") || sqlstate.starts_with("40") || sqlstate.starts_with("53") ||
           sqlstate.starts_with("57") || sqlstate.starts_with("58") || sqlstate == "55P03";
}

std::string server_message(std::string_view what, bool first_line_only) {
    for (const std::string_view prefix : {"ERROR:  ", "FATAL:  "}) {
        if (what.starts_with(prefix)) {
            what.remove_prefix(prefix.size());
        }
    }
    if (first_line_only) {
        what = what.substr(0, what.find('\n'));
    }
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) {
        what.remove_suffix(1);
    }
    // libpq echoes pieces of a connection string it cannot read, password included.
    return config::redact(what);
}

Status status_from_current_exception(std::string_view context, bool connection_open) {
    try {
        throw;
    } catch (const pqxx::broken_connection& error) {
        // libpq's connect failures say "connection to server at ... failed"
        // already; a connection lost mid-query gets a less telling message.
        const std::string message = server_message(error.what(), false);
        return Status::retryable_error(fmt::format(
            "{}: {}{}", context,
            message.starts_with("connection to server") ? "" : "the connection to PostgreSQL broke: ",
            message));
    } catch (const pqxx::sql_error& error) {
        const std::string message =
            fmt::format("{}: {}{}", context, server_message(error.what(), false),
                        error.sqlstate().empty() ? "" : fmt::format(" (SQLSTATE {})", error.sqlstate()));
        if (!connection_open || is_retryable_sqlstate(error.sqlstate())) {
            return Status::retryable_error(message);
        }
        return Status::error(message);
    } catch (const pqxx::in_doubt_error& error) {
        return Status::retryable_error(fmt::format("{}: {}", context, server_message(error.what(), false)));
    } catch (const std::exception& error) {
        const std::string message = fmt::format("{}: {}", context, server_message(error.what(), false));
        return connection_open ? Status::error(message) : Status::retryable_error(message);
    } catch (...) {
        return Status::error(fmt::format("{}: unknown error", context));
    }
}

}  // namespace indexer::postgres::detail
