#include <indexer/postgres/connection_limits.hpp>
#include <indexer/postgres/source_scan.hpp>

#include "pg_errors.hpp"

#include <fmt/format.h>

#include <optional>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <utility>
#include <variant>

namespace indexer::postgres {

namespace {

constexpr const char* kFirstPage = "indexer_scan_first";
constexpr const char* kNextPage = "indexer_scan_next";

}  // namespace

struct SourceScan::Impl {
    BatchLoaderOptions options;
    std::string first_sql;
    std::string next_sql;
    std::unique_ptr<pqxx::connection> connection;
    std::optional<std::string> last;  // the last id returned; none before the first page
    bool done = false;

    std::string context(std::string_view what) const {
        return fmt::format("pipeline '{}': {}", options.pipeline, what);
    }

    Status connect() {
        connection.reset();
        try {
            auto opened =
                std::make_unique<pqxx::connection>(limited_connection_string(options.url, options.limits));
            opened->set_client_encoding("UTF8");
            {
                pqxx::nontransaction tx(*opened);
                tx.exec_params("SELECT set_config('application_name', $1, false)",
                               "indexer/" + options.pipeline + "/verify");
            }
            opened->prepare(kFirstPage, first_sql);
            opened->prepare(kNextPage, next_sql);
            connection = std::move(opened);
            return Status::ok();
        } catch (...) {
            return detail::status_from_current_exception(
                context("cannot connect to PostgreSQL to scan the source"), false);
        }
    }
};

Result<SourceScan> SourceScan::create(const BatchLoaderOptions& options, const std::string& id_type) {
    const auto* table = std::get_if<TableSource>(&options.source);
    if (table == nullptr) {
        return Status::error(fmt::format(
            "pipeline '{}': its source is a custom query, whose ids cannot be listed (the query maps an id "
            "array to documents); only a table source can be scanned",
            options.pipeline));
    }
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->first_sql =
        fmt::format("SELECT r.{0}::text FROM {1} AS r WHERE r.{0} IS NOT NULL ORDER BY r.{0} LIMIT $1",
                    table->id_column, table->table);
    impl->next_sql =
        fmt::format("SELECT r.{0}::text FROM {1} AS r WHERE r.{0} > $1::{2} ORDER BY r.{0} LIMIT $2",
                    table->id_column, table->table, id_type);
    INDEXER_RETURN_IF_ERROR(impl->connect());
    return SourceScan(std::move(impl));
}

Result<std::vector<std::string>> SourceScan::next(std::size_t max_ids) {
    Impl& impl = *impl_;
    if (impl.done) return std::vector<std::string>{};
    if (max_ids == 0) max_ids = 1;
    if (!impl.connection || !impl.connection->is_open()) INDEXER_RETURN_IF_ERROR(impl.connect());
    std::vector<std::string> ids;
    try {
        pqxx::nontransaction tx(*impl.connection);
        const auto limit = static_cast<long long>(max_ids);
        const pqxx::result result =
            impl.last ? tx.exec_prepared(kNextPage, *impl.last, limit) : tx.exec_prepared(kFirstPage, limit);
        ids.reserve(result.size());
        for (const auto& row : result) ids.push_back(row[0].as<std::string>());
    } catch (...) {
        const bool open = impl.connection && impl.connection->is_open();
        Status status =
            detail::status_from_current_exception(impl.context("scanning the source's ids failed"), open);
        if (!open) impl.connection.reset();
        return status;
    }
    if (ids.size() < max_ids) impl.done = true;
    if (!ids.empty()) impl.last = ids.back();
    return ids;
}

const std::string& SourceScan::query() const noexcept {
    return impl_->next_sql;
}

SourceScan::SourceScan(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
SourceScan::SourceScan(SourceScan&&) noexcept = default;
SourceScan& SourceScan::operator=(SourceScan&&) noexcept = default;
SourceScan::~SourceScan() = default;

}  // namespace indexer::postgres
