#include <indexer/postgres/batch_loader.hpp>

#include <indexer/postgres/array_literal.hpp>

#include "pg_errors.hpp"
#include "source_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace indexer::postgres {
namespace {

using Clock = std::chrono::steady_clock;

struct Session {
    std::unique_ptr<pqxx::connection> connection;

    bool is_open() const noexcept { return connection != nullptr && connection->is_open(); }
};

// Opens a connection the loader can use: UTF-8, and named after the pipeline
// so that pg_stat_activity shows whose it is.
std::unique_ptr<pqxx::connection> open_connection(const BatchLoaderOptions& options) {
    auto connection =
        std::make_unique<pqxx::connection>(limited_connection_string(options.url, options.limits));
    connection->set_client_encoding("UTF8");
    pqxx::nontransaction tx(*connection);
    tx.exec_params("SELECT set_config('application_name', $1, false)", "indexer/" + options.pipeline);
    return connection;
}

// The requested ids that share one canonical id, in order of first request.
struct IdGroup {
    std::string key;  // canonical id sent to the query
    std::vector<std::size_t> request_indexes;
    std::optional<std::string> invalid_reason;
    std::vector<std::size_t> rows;  // positions in the query's rows that belong to this id
};

struct ReturnedRow {
    std::optional<std::string> id;
    std::optional<std::string> document;
    std::optional<std::string> version;  // decimal text, when the source has versions
};

class Groups {
public:
    void reserve(std::size_t ids) {
        groups_.reserve(ids);
        index_.reserve(ids);
    }
    void add(std::string key, std::size_t request_index) {
        auto [it, inserted] = index_.try_emplace(key, groups_.size());
        if (inserted) {
            groups_.push_back(IdGroup{std::move(key), {}, std::nullopt, {}});
        }
        groups_[it->second].request_indexes.push_back(request_index);
    }
    IdGroup* find(const std::string& key) {
        const auto it = index_.find(key);
        return it == index_.end() ? nullptr : &groups_[it->second];
    }
    std::vector<IdGroup>& all() { return groups_; }
    std::vector<std::string> keys_where(const std::function<bool(const IdGroup&)>& wanted) const {
        std::vector<std::string> keys;
        for (const auto& group : groups_) {
            if (wanted(group)) {
                keys.push_back(group.key);
            }
        }
        return keys;
    }

private:
    std::vector<IdGroup> groups_;
    std::unordered_map<std::string, std::size_t> index_;
};

using RowSink = std::function<void(const pqxx::row&)>;

// A key PostgreSQL rejected while the batch was narrowed down.
struct BadKey {
    std::string key;
    std::string reason;  // PostgreSQL's message, first line
    std::string sqlstate;
};
using BadKeys = std::vector<BadKey>;

// Ids of recent loads kept to tell a broken query from broken ids, and how
// many of them a batch in which no id loads tries.
constexpr std::size_t kWitnessCount = 16;
constexpr std::size_t kWitnessTries = 4;

std::optional<std::string> optional_text(const pqxx::field& field) {
    if (field.is_null()) {
        return std::nullopt;
    }
    return std::string{field.c_str(), field.size()};
}

// Whether the integral decimal `field` is greater than `than` (both non-negative, no leading zeros).
bool later(const pqxx::field& field, const std::string& than) {
    const std::string_view text{field.c_str(), field.size()};
    return text.size() != than.size() ? text.size() > than.size() : text > than;
}

// A row's version as the load statement printed it (an integral number, or
// "Infinity" for an infinite timestamp), or why it cannot be one.
Result<std::uint64_t> parse_version(const std::optional<std::string>& text, std::string_view expression) {
    if (!text) {
        return Status::error(
            fmt::format("its version (`{}`) is NULL; every row of a versioned source needs one", expression));
    }
    std::uint64_t value = 0;
    const char* end = text->data() + text->size();
    const auto parsed = std::from_chars(text->data(), end, value);
    if (parsed.ec == std::errc{} && parsed.ptr == end && value >= 1 &&
        value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return value;
    }
    return Status::error(fmt::format(
        "its version (`{}`) is {}; a version must lie between 1 and 2^63-1 (0 means no version){}",
        expression, *text,
        *text == "0" ? ": an integer version that starts at 0, such as lock_version, needs `+ 1`" : ""));
}

}  // namespace

struct BatchLoader::Impl {
    BatchLoaderOptions options;
    detail::SourcePlan plan;

    std::mutex mutex;
    std::condition_variable session_released;
    std::vector<std::unique_ptr<Session>> idle_sessions;

    // Ids whose rows loaded in recent batches, newest last (guarded by `witness_mutex`).
    mutable std::mutex witness_mutex;
    mutable std::vector<std::string> witnesses;

    std::string context(std::string_view what) const {
        return fmt::format("pipeline '{}': {}", options.pipeline, what);
    }

    std::unique_ptr<Session> acquire() {
        std::unique_lock lock(mutex);
        session_released.wait(lock, [&] { return !idle_sessions.empty(); });
        auto session = std::move(idle_sessions.back());
        idle_sessions.pop_back();
        return session;
    }

    void release(std::unique_ptr<Session> session) {
        {
            const std::lock_guard lock(mutex);
            // Open sessions go last so that the next caller reuses a live connection.
            idle_sessions.insert(session->is_open() ? idle_sessions.end() : idle_sessions.begin(),
                                 std::move(session));
        }
        session_released.notify_one();
    }

    Status connect(Session& session) const {
        session.connection.reset();
        try {
            auto connection = open_connection(options);
            detail::prepare_statements(*connection, plan);
            session.connection = std::move(connection);
            return Status::ok();
        } catch (...) {
            return detail::status_from_current_exception(context("cannot connect to PostgreSQL and prepare"),
                                                         false);
        }
    }

    // Runs `statement` with `keys` as its array parameter. When PostgreSQL
    // rejects a value, splits the keys in halves until the offending ids stand
    // alone, reports those in `bad` and loads the rest.
    Status run_isolating(Session& session, const char* statement, std::span<const std::string> keys,
                         const RowSink& sink, BadKeys& bad, LoadStats& stats) const {
        if (keys.empty()) {
            return Status::ok();
        }
        BadKey value_error;
        try {
            pqxx::nontransaction tx(*session.connection);
            ++stats.queries;
            const auto result = tx.exec_prepared(statement, make_array_literal(keys));
            for (const auto& row : result) {
                sink(row);
            }
            return Status::ok();
        } catch (const pqxx::sql_error& error) {
            if (!detail::is_value_error(error.sqlstate()) || !session.is_open()) {
                return detail::status_from_current_exception(
                    context(fmt::format("loading {} ids failed", keys.size())), session.is_open());
            }
            value_error = BadKey{{}, detail::server_message(error.what(), true), error.sqlstate()};
        } catch (...) {
            return detail::status_from_current_exception(
                context(fmt::format("loading {} ids failed", keys.size())), session.is_open());
        }
        if (keys.size() == 1) {
            value_error.key = keys.front();
            bad.push_back(std::move(value_error));
            return Status::ok();
        }
        const auto half = keys.size() / 2;
        INDEXER_RETURN_IF_ERROR(run_isolating(session, statement, keys.first(half), sink, bad, stats));
        return run_isolating(session, statement, keys.subspan(half), sink, bad, stats);
    }

    void remember_witnesses(const std::vector<FoundRow>& rows) const {
        const std::lock_guard lock(witness_mutex);
        for (std::size_t i = 0; i < rows.size() && i < kWitnessCount; ++i) {
            std::erase(witnesses, rows[i].id);
            witnesses.push_back(rows[i].id);
        }
        if (witnesses.size() > kWitnessCount) {
            witnesses.erase(witnesses.begin(), witnesses.begin() + static_cast<std::ptrdiff_t>(
                                                                       witnesses.size() - kWitnessCount));
        }
    }

    // Candidates for a witness: ids of recent loads, else (table sources) a few
    // ids read from the table; none of `excluded`.
    Result<std::vector<std::string>> witness_candidates(Session& session,
                                                        const std::unordered_set<std::string>& excluded,
                                                        LoadStats& stats) const {
        std::vector<std::string> candidates;
        {
            const std::lock_guard lock(witness_mutex);
            for (auto it = witnesses.rbegin(); it != witnesses.rend(); ++it) {
                if (!excluded.contains(*it)) candidates.push_back(*it);
            }
        }
        if (!candidates.empty() || plan.sample_sql.empty()) {
            return candidates;
        }
        try {
            pqxx::nontransaction tx(*session.connection);
            ++stats.queries;
            for (const auto& row : tx.exec_prepared(detail::kSampleStatement)) {
                if (!row[0].is_null() && !excluded.contains(row[0].c_str()))
                    candidates.emplace_back(row[0].c_str());
            }
        } catch (const pqxx::sql_error& error) {
            if (!detail::is_value_error(error.sqlstate()) || !session.is_open()) {
                return detail::status_from_current_exception(context("reading ids to test the query failed"),
                                                             session.is_open());
            }
        } catch (...) {
            return detail::status_from_current_exception(context("reading ids to test the query failed"),
                                                         session.is_open());
        }
        return candidates;
    }

    // True when the load statement returns a row for one of the candidates:
    // the query then works, and a value error of the batch is its ids' own.
    Result<bool> some_witness_loads(Session& session, const std::unordered_set<std::string>& excluded,
                                    LoadStats& stats) const {
        auto candidates = witness_candidates(session, excluded, stats);
        if (!candidates) return candidates.status();
        for (std::size_t i = 0; i < candidates.value().size() && i < kWitnessTries; ++i) {
            const std::string& candidate = candidates.value()[i];
            try {
                pqxx::nontransaction tx(*session.connection);
                ++stats.queries;
                const std::string key[] = {candidate};
                if (tx.exec_prepared(detail::kLoadStatement, make_array_literal(key)).size() >
                    static_cast<pqxx::result::size_type>(plan.extra_rows())) {
                    return true;
                }
            } catch (const pqxx::sql_error& error) {
                if (!detail::is_value_error(error.sqlstate()) || !session.is_open()) {
                    return detail::status_from_current_exception(
                        context("testing the query on a known id failed"), session.is_open());
                }
            } catch (...) {
                return detail::status_from_current_exception(
                    context("testing the query on a known id failed"), session.is_open());
            }
        }
        return false;
    }

    Result<LoadedBatch> load_on(Session& session, std::span<const std::string> ids) const;
};

Result<LoadedBatch> BatchLoader::Impl::load_on(Session& session, std::span<const std::string> ids) const {
    LoadedBatch batch;
    Groups groups;
    groups.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        auto canonical = canonical_id(plan.id_kind, ids[i]);
        if (canonical) {
            groups.add(std::move(canonical.value()), i);
        } else {
            batch.invalid.push_back(InvalidId{i, canonical.error()});
        }
    }

    // Ids of types not known client-side: the server casts and prints them.
    if (plan.id_kind == IdKind::other && !groups.all().empty()) {
        const auto keys = groups.keys_where([](const IdGroup&) { return true; });
        std::unordered_map<std::string, std::string> canonical;
        BadKeys bad;
        INDEXER_RETURN_IF_ERROR(run_isolating(
            session, detail::kCanonicaliseStatement, keys,
            [&](const pqxx::row& row) { canonical.emplace(row[0].c_str(), row[1].c_str()); }, bad,
            batch.stats));
        std::unordered_map<std::string, std::string> bad_reason;
        for (auto& entry : bad) {
            bad_reason.emplace(std::move(entry.key), std::move(entry.reason));
        }
        Groups regrouped;
        for (auto& group : groups.all()) {
            if (const auto it = bad_reason.find(group.key); it != bad_reason.end()) {
                for (const auto index : group.request_indexes) {
                    batch.invalid.push_back(InvalidId{index, it->second});
                }
            } else {
                const std::string& key = canonical.at(group.key);
                for (const auto index : group.request_indexes) {
                    regrouped.add(key, index);
                }
            }
        }
        groups = std::move(regrouped);
    }

    std::vector<ReturnedRow> returned;
    const bool versioned = plan.version_kind != VersionKind::none;
    std::optional<std::string> statement_clock;  // timestamp versions: see source_plan.hpp
    {
        const auto keys = groups.keys_where([](const IdGroup&) { return true; });
        BadKeys bad;
        INDEXER_RETURN_IF_ERROR(run_isolating(
            session, detail::kLoadStatement, keys,
            [&](const pqxx::row& row) {
                if (plan.extra_rows() != 0 && !row[3].is_null()) {
                    if (!statement_clock || later(row[3], *statement_clock))
                        statement_clock = optional_text(row[3]);
                    return;
                }
                returned.push_back(ReturnedRow{optional_text(row[0]), optional_text(row[1]),
                                               versioned ? optional_text(row[2]) : std::nullopt});
            },
            bad, batch.stats));
        // The ids are values of the id type by now (checked above), so a value
        // error here comes from the query or the rows it reads. It is charged
        // to the ids only if the query returns rows for other ids: if none
        // loads, every message would be dead-lettered for a fault of the query
        // or of data all rows share, so the batch fails and is retried.
        if (!bad.empty() && returned.empty()) {
            const std::unordered_set<std::string> excluded(keys.begin(), keys.end());
            auto witnessed = some_witness_loads(session, excluded, batch.stats);
            if (!witnessed) return witnessed.status();
            if (!witnessed.value()) {
                return Status::retryable_error(context(fmt::format(
                    "loading {} ids failed: {} (SQLSTATE {}); no id loads, neither of this batch nor a "
                    "known one, so the query or the data every row reads is at fault, not the ids: the "
                    "batch is retried and nothing is dead-lettered",
                    keys.size(), bad.front().reason, bad.front().sqlstate)));
            }
        }
        for (auto& entry : bad) {
            if (IdGroup* group = groups.find(entry.key); group != nullptr) {
                group->invalid_reason = std::move(entry.reason);
            }
        }
    }

    // Match rows to ids by text; rows matching no id are "unmatched".
    std::unordered_map<std::string, std::vector<std::size_t>> rows_by_id;
    rows_by_id.reserve(returned.size());
    std::vector<std::string> returned_ids;  // distinct, in order
    returned_ids.reserve(returned.size());
    std::unordered_set<std::string> unmatched_ids;
    bool null_id_returned = false;
    for (std::size_t r = 0; r < returned.size(); ++r) {
        if (!returned[r].id) {
            null_id_returned = true;
            continue;
        }
        auto& rows = rows_by_id[*returned[r].id];
        if (rows.empty()) {
            returned_ids.push_back(*returned[r].id);
        }
        rows.push_back(r);
        if (IdGroup* group = groups.find(*returned[r].id); group != nullptr) {
            group->rows.push_back(r);
        } else {
            unmatched_ids.insert(*returned[r].id);
        }
    }

    // Ids still unfound are paired with returned ids by the id type's own
    // equality (citext, numeric scale): with the unmatched rows, and for types
    // canonicalised by the server also with the matched ones ("1.50" = "1.5").
    const auto unfound =
        groups.keys_where([](const IdGroup& g) { return g.rows.empty() && !g.invalid_reason; });
    const bool server_typed = plan.id_kind == IdKind::other;
    if (!unfound.empty() && (!unmatched_ids.empty() || (server_typed && !returned_ids.empty()))) {
        std::vector<std::string> candidates;
        for (const auto& id : returned_ids) {
            if (server_typed || unmatched_ids.contains(id)) {
                candidates.push_back(id);
            }
        }
        try {
            pqxx::nontransaction tx(*session.connection);
            ++batch.stats.queries;
            const auto pairs = tx.exec_prepared(detail::kPairStatement, make_array_literal(unfound),
                                                make_array_literal(candidates));
            for (const auto& pair : pairs) {
                IdGroup* group = groups.find(pair[0].c_str());
                const std::string returned_id = pair[1].c_str();
                if (group == nullptr) {
                    continue;
                }
                const auto& rows = rows_by_id.at(returned_id);
                group->rows.insert(group->rows.end(), rows.begin(), rows.end());
                unmatched_ids.erase(returned_id);
            }
        } catch (const pqxx::sql_error& error) {
            // Returned ids that are no values of the id type pair with nothing.
            if (!detail::is_value_error(error.sqlstate()) || !session.is_open()) {
                return detail::status_from_current_exception(context("pairing returned ids failed"),
                                                             session.is_open());
            }
        } catch (...) {
            return detail::status_from_current_exception(context("pairing returned ids failed"),
                                                         session.is_open());
        }
    }
    // Rows that belong to no requested id make every unfound id doubtful: it
    // may be one of them, so it is reported rather than turned into a delete.
    if (!unmatched_ids.empty() || null_id_returned) {
        const std::string reason = fmt::format(
            "the source returned rows whose id matched no requested id (e.g. {}), so it cannot tell whether "
            "this id exists; the id column must hold the requested ids",
            unmatched_ids.empty() ? std::string{"NULL"} : fmt::format("\"{}\"", *unmatched_ids.begin()));
        for (auto& group : groups.all()) {
            if (group.rows.empty() && !group.invalid_reason) {
                group.invalid_reason = reason;
            }
        }
    }

    std::unordered_map<std::string, std::size_t> found_by_id;  // returned id -> position in batch.rows
    found_by_id.reserve(groups.all().size());
    for (auto& group : groups.all()) {
        if (!group.invalid_reason && group.rows.size() > 1) {
            group.invalid_reason =
                fmt::format("the source returned {} rows for id \"{}\"; it must return at most one",
                            group.rows.size(), group.key);
        }
        if (group.invalid_reason) {
            for (const auto index : group.request_indexes) {
                batch.invalid.push_back(InvalidId{index, *group.invalid_reason});
            }
            continue;
        }
        if (group.rows.empty() || !returned[group.rows.front()].document) {
            const std::string& id = group.rows.empty() ? group.key : *returned[group.rows.front()].id;
            batch.missing.push_back(MissingId{id, 0, std::move(group.request_indexes)});
            continue;
        }
        ReturnedRow& row = returned[group.rows.front()];
        std::uint64_t version = 0;
        if (versioned) {
            auto parsed = parse_version(row.version, plan.version_expression);
            if (!parsed) {
                for (const auto index : group.request_indexes) {
                    batch.invalid.push_back(InvalidId{index, parsed.error()});
                }
                continue;
            }
            version = parsed.value();
        }
        const auto [it, inserted] = found_by_id.try_emplace(*row.id, batch.rows.size());
        if (inserted) {
            // Several ids may share a row (pairs); only the first takes its document.
            batch.rows.push_back(FoundRow{*row.id, std::move(*row.document), version, {}});
        }
        auto& indexes = batch.rows[it->second].request_indexes;
        indexes.insert(indexes.end(), group.request_indexes.begin(), group.request_indexes.end());
    }
    if (!batch.missing.empty() && plan.version_kind == VersionKind::timestamp) {
        // The latest start of the statements that found the ids missing.
        auto version = parse_version(statement_clock, "statement_timestamp()");
        if (!version) return Status::retryable_error(context("the database's clock: " + version.error()));
        for (MissingId& missing : batch.missing) missing.version = version.value();
    }
    batch.stats.rows = batch.rows.size();
    remember_witnesses(batch.rows);
    return batch;
}

Result<BatchLoader> BatchLoader::create(BatchLoaderOptions options) {
    const auto fail = [&](std::string_view what) {
        return Status::error(fmt::format("pipeline '{}': {}", options.pipeline, what));
    };
    if (options.pool_size == 0) {
        return fail("postgres pool size must be at least 1");
    }
    const bool is_table = std::holds_alternative<TableSource>(options.source);
    const std::string id_column = is_table ? std::get<TableSource>(options.source).id_column
                                           : std::get<QuerySource>(options.source).id_column;
    if (id_column.empty()) {
        return fail("the source needs an id column");
    }
    if (is_table && std::get<TableSource>(options.source).table.empty()) {
        return fail("the source needs a table");
    }
    if (!is_table && std::get<QuerySource>(options.source).query.empty()) {
        return fail("the source query is empty");
    }

    auto impl = std::make_unique<Impl>();
    impl->options = std::move(options);
    auto first = std::make_unique<Session>();
    try {
        first->connection = open_connection(impl->options);
    } catch (...) {
        return detail::status_from_current_exception(impl->context("cannot connect to PostgreSQL"), false);
    }
    const auto source_error = [&](const std::string& message) {
        return Status::error(impl->context(fmt::format(
            "the source {} does not work: {}",
            is_table ? fmt::format("table '{}'", std::get<TableSource>(impl->options.source).table)
                     : std::string{"query"},
            message)));
    };
    try {
        auto plan = detail::describe_source(*first->connection, impl->options.source, impl->options.version);
        if (!plan) {
            return source_error(plan.error());
        }
        impl->plan = std::move(plan.value());
        detail::prepare_statements(*first->connection, impl->plan);
    } catch (const pqxx::sql_error& error) {
        if (!first->is_open() || detail::is_retryable_sqlstate(error.sqlstate())) {
            return detail::status_from_current_exception(impl->context("cannot describe the source"), false);
        }
        std::string message = detail::server_message(error.what(), false);
        if (!is_table) {
            message += fmt::format(
                "\nA custom query takes the id array as $1 and returns the id column \"{}\" and a column "
                "\"document\" (json, jsonb or text).",
                id_column);
        }
        return source_error(message);
    } catch (...) {
        return detail::status_from_current_exception(impl->context("cannot describe the source"),
                                                     first->is_open());
    }

    impl->idle_sessions.reserve(impl->options.pool_size);
    for (std::size_t i = 1; i < impl->options.pool_size; ++i) {
        impl->idle_sessions.push_back(std::make_unique<Session>());
    }
    impl->idle_sessions.push_back(std::move(first));
    return BatchLoader{std::move(impl)};
}

Result<LoadedBatch> BatchLoader::load(std::span<const std::string> ids) {
    const auto started = Clock::now();
    // The session goes back to the pool however this call ends.
    struct Lease {
        Impl& impl;
        std::unique_ptr<Session> session;
        ~Lease() {
            if (!session->is_open()) {
                session->connection.reset();
            }
            impl.release(std::move(session));
        }
    } lease{*impl_, impl_->acquire()};
    Session& session = *lease.session;

    const auto attempt = [&]() -> Result<LoadedBatch> {
        try {
            return impl_->load_on(session, ids);
        } catch (...) {
            return detail::status_from_current_exception(impl_->context("loading ids failed"),
                                                         session.is_open());
        }
    };
    bool fresh = false;
    if (!session.is_open()) {
        INDEXER_RETURN_IF_ERROR(impl_->connect(session));
        fresh = true;
    }
    auto result = attempt();
    // A connection that died while idle (server restart, terminated backend)
    // is replaced once at no cost to the caller; loads only read, so running
    // the batch again is safe.
    if (!result && !session.is_open() && !fresh) {
        if (auto status = impl_->connect(session); status) {
            result = attempt();
        } else {
            result = std::move(status);
        }
    }
    if (result) {
        result->stats.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    }
    return result;
}

const std::string& BatchLoader::query() const noexcept {
    return impl_->plan.load_sql;
}
const std::string& BatchLoader::id_type() const noexcept {
    return impl_->plan.id_type;
}
IdKind BatchLoader::id_kind() const noexcept {
    return impl_->plan.id_kind;
}
VersionKind BatchLoader::version_kind() const noexcept {
    return impl_->plan.version_kind;
}
const std::string& BatchLoader::version_type() const noexcept {
    return impl_->plan.version_type;
}

BatchLoader::BatchLoader(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
BatchLoader::BatchLoader(BatchLoader&&) noexcept = default;
BatchLoader& BatchLoader::operator=(BatchLoader&&) noexcept = default;
BatchLoader::~BatchLoader() = default;

}  // namespace indexer::postgres
