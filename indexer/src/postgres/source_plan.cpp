#include "source_plan.hpp"

#include "pg_errors.hpp"

#include <fmt/format.h>

#include <optional>
#include <pqxx/connection_base>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <string_view>

namespace indexer::postgres::detail {
namespace {

constexpr const char* kDescribeStatement = "indexer_describe";
constexpr int kSampleSize = 16;  // rows read as witnesses, see batch_loader.cpp

// Document column types accepted from a custom query (pg_type OIDs).
constexpr unsigned kJsonOid = 114;
constexpr unsigned kJsonbOid = 3802;
constexpr unsigned kTextOid = 25;
constexpr unsigned kVarcharOid = 1043;
// Version expression types accepted (pg_type OIDs).
constexpr unsigned kInt2Oid = 21;
constexpr unsigned kInt4Oid = 23;
constexpr unsigned kInt8Oid = 20;
constexpr unsigned kTimestampOid = 1114;
constexpr unsigned kTimestamptzOid = 1184;

// Microseconds since 1970-01-01 UTC, exact (extract returns numeric since
// PostgreSQL 14), as an integral numeric: infinity stays readable as such
// rather than failing the cast to bigint.
std::string epoch_microseconds(std::string_view timestamp) {
    return fmt::format("floor(extract(epoch FROM {}) * 1000000)", timestamp);
}

// The load statement in two parts, so that a version column can be added.
struct LoadParts {
    std::string columns;  // the id as text, the document
    std::string from;     // FROM ... [WHERE ...]

    std::string sql(std::string_view extra_column = {}) const {
        if (extra_column.empty()) return fmt::format("SELECT {} FROM {}", columns, from);
        return fmt::format("SELECT {}, {} FROM {}", columns, extra_column, from);
    }
};

// kDescribeStatement prepared for as long as the object lives.
class DescribeStatement {
public:
    DescribeStatement(pqxx::connection_base& connection, const std::string& sql) : connection_(connection) {
        connection_.prepare(kDescribeStatement, sql);
        connection_.prepare_now(kDescribeStatement);
    }
    ~DescribeStatement() {
        try {
            connection_.unprepare(kDescribeStatement);
        } catch (...) {  // NOLINT(bugprone-empty-catch): the connection is dropped on failure anyway
        }
    }
    DescribeStatement(const DescribeStatement&) = delete;
    DescribeStatement& operator=(const DescribeStatement&) = delete;

private:
    pqxx::connection_base& connection_;
};

struct IdType {
    std::string name;  // format_type(), safe to write into SQL
    IdKind kind = IdKind::other;
};

// The column name an SQL identifier denotes ("ID" stays ID, ID becomes id),
// by PostgreSQL's own parser.
Result<std::string> parse_column_name(pqxx::nontransaction& tx, const std::string& name) {
    const auto parts = tx.exec_params("SELECT unnest(parse_ident($1))", name);
    if (parts.size() != 1) {
        return Status::error(fmt::format("id column '{}' must be a single column name", name));
    }
    return std::string{parts[0][0].c_str()};
}

void set_id_type(SourcePlan& plan, const IdType& id) {
    plan.canonicalise_sql = fmt::format("SELECT u.s, u.s::{}::text FROM unnest($1::text[]) AS u(s)", id.name);
    plan.pair_sql = fmt::format(
        "SELECT r.s, f.s FROM unnest($1::text[]) AS r(s) JOIN unnest($2::text[]) AS f(s) ON r.s::{0} = "
        "f.s::{0}",
        id.name);
    plan.id_type = id.name;
    plan.id_kind = id.kind;
}

Result<SourcePlan> describe_table(pqxx::connection_base& connection, const TableSource& source,
                                  LoadParts& parts) {
    pqxx::nontransaction tx(connection);
    const auto table = tx.exec_params(
        "SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
        source.table);
    if (table.empty()) {
        return Status::error(fmt::format("table '{}' does not exist (or is not visible to user {})",
                                         source.table, connection.username()));
    }
    const std::string relkind = table[0][2].c_str();
    if (relkind.size() != 1 || std::string_view{"rvmfp"}.find(relkind[0]) == std::string_view::npos) {
        return Status::error(fmt::format("'{}' is not a table or view (relkind {})", source.table, relkind));
    }
    const std::string schema = table[0][0].c_str();
    const std::string relation = table[0][1].c_str();

    auto column = parse_column_name(tx, source.id_column);
    if (!column) {
        return column.status();
    }
    const auto attribute = tx.exec_params(
        "SELECT format_type(a.atttypid, NULL), "
        "       (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)::bigint "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
        source.table, column.value());
    if (attribute.empty()) {
        const auto columns = tx.exec_params(
            "SELECT coalesce(string_agg(quote_ident(attname), ', ' ORDER BY attnum), '') FROM pg_attribute "
            "WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
            source.table);
        return Status::error(fmt::format("table '{}' has no column {} (its columns: {})", source.table,
                                         connection.quote_name(column.value()), columns[0][0].c_str()));
    }
    const IdType id{attribute[0][0].c_str(),
                    id_kind_from_type_oid(static_cast<std::uint32_t>(attribute[0][1].as<long long>()))};

    SourcePlan plan;
    const std::string quoted_id = connection.quote_name(column.value());
    parts = LoadParts{fmt::format("r.{}::text, row_to_json(r.*)", quoted_id),
                      fmt::format("{}.{} AS r WHERE r.{} = ANY($1::{}[])", connection.quote_name(schema),
                                  connection.quote_name(relation), quoted_id, id.name)};
    plan.load_sql = parts.sql();
    plan.sample_sql =
        fmt::format("SELECT r.{0}::text FROM {1}.{2} AS r WHERE r.{0} IS NOT NULL LIMIT {3}", quoted_id,
                    connection.quote_name(schema), connection.quote_name(relation), kSampleSize);
    set_id_type(plan, id);
    return plan;
}

Result<SourcePlan> describe_query(pqxx::connection_base& connection, const QuerySource& source,
                                  LoadParts& parts) {
    std::string column;
    {
        pqxx::nontransaction tx(connection);
        auto parsed = parse_column_name(tx, source.id_column);
        if (!parsed) {
            return parsed.status();
        }
        column = std::move(parsed.value());
    }
    // A trailing semicolon would end the statement inside our wrapper; the
    // newline before the closing parenthesis ends a trailing -- comment.
    std::string_view query = source.query;
    while (!query.empty() && (query.back() == ';' ||
                              std::string_view{" \t\r\n"}.find(query.back()) != std::string_view::npos)) {
        query.remove_suffix(1);
    }
    SourcePlan plan;
    parts = LoadParts{fmt::format("q.{}::text, q.document", connection.quote_name(column)),
                      fmt::format("(\n{}\n) AS q", query)};
    plan.load_sql = parts.sql();

    const DescribeStatement describe(connection, plan.load_sql);

    pqxx::nontransaction tx(connection);
    const auto parameters = tx.exec_params(
        "SELECT coalesce(cardinality(s.parameter_types), 0), format_type(s.parameter_types[1]::oid, NULL), "
        "       e.oid IS NOT NULL, format_type(e.oid, NULL), "
        "       (CASE WHEN e.typtype = 'd' THEN e.typbasetype ELSE e.oid END)::bigint "
        "FROM pg_prepared_statements s "
        "LEFT JOIN pg_type a ON a.oid = s.parameter_types[1]::oid "
        "LEFT JOIN pg_type e ON e.oid = a.typelem AND a.typlen = -1 AND a.typelem <> 0 "
        "WHERE s.name = $1",
        std::string{kDescribeStatement});
    if (parameters.size() != 1) {
        return Status::error("the prepared query cannot be described");
    }
    const auto count = parameters[0][0].as<long long>();
    if (count != 1) {
        return Status::error(fmt::format(
            "the query must have exactly one parameter, $1 (the array of ids), but it has {}", count));
    }
    if (!parameters[0][2].as<bool>()) {
        return Status::error(fmt::format(
            "$1 must be the array of ids (e.g. `WHERE id = ANY($1)`), but PostgreSQL reads it as {}",
            parameters[0][1].c_str()));
    }
    const IdType id{parameters[0][3].c_str(),
                    id_kind_from_type_oid(static_cast<std::uint32_t>(parameters[0][4].as<long long>()))};

    // Running it once with no ids checks that it executes and shows the
    // document column's type.
    const auto empty = tx.exec_prepared(kDescribeStatement, std::string{"{}"});
    const auto document_type = empty.column_type(1);
    if (document_type != kJsonOid && document_type != kJsonbOid && document_type != kTextOid &&
        document_type != kVarcharOid) {
        const auto name =
            tx.exec_params("SELECT format_type($1::oid, NULL)", static_cast<long long>(document_type));
        return Status::error(fmt::format("the column \"document\" must be json, jsonb or text, but it is {}",
                                         name[0][0].c_str()));
    }

    set_id_type(plan, id);
    return plan;
}

// Finds the version expression's type and adds the version column to the
// load statement (batch_loader.hpp, "Versions").
Status describe_version(pqxx::connection_base& connection, const LoadParts& parts, const std::string& version,
                        SourcePlan& plan) {
    const std::string expression = fmt::format("({})", version);
    const auto failed = [&](std::string_view why) {
        return Status::error(fmt::format("the version expression `{}` {}", version, why));
    };
    std::optional<DescribeStatement> describe;
    try {
        describe.emplace(connection, parts.sql(expression));
    } catch (const pqxx::sql_error& error) {
        if (!connection.is_open() || is_retryable_sqlstate(error.sqlstate())) throw;
        return failed(fmt::format("does not prepare: {}", server_message(error.what(), false)));
    }
    pqxx::nontransaction tx(connection);
    const auto type_oid = tx.exec_prepared(kDescribeStatement, std::string{"{}"}).column_type(2);
    const auto type = tx.exec_params(
        "SELECT format_type(t.oid, NULL), (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid "
        "END)::bigint "
        "FROM pg_type t WHERE t.oid = $1::oid",
        static_cast<long long>(type_oid));
    if (type.empty()) return failed("has a type PostgreSQL does not list in pg_type");
    plan.version_type = type[0][0].c_str();
    plan.version_expression = version;
    std::string column;
    switch (static_cast<unsigned>(type[0][1].as<long long>())) {
        case kTimestampOid:
        case kTimestamptzOid:
            plan.version_kind = VersionKind::timestamp;
            column = epoch_microseconds(expression) + ", NULL::numeric";
            break;
        case kInt2Oid:
        case kInt4Oid:
        case kInt8Oid:
            plan.version_kind = VersionKind::integer;
            column = expression + "::int8";
            break;
        default:
            return failed(
                fmt::format("is of type {}; a version must be a timestamp (with or without time zone) "
                            "or an integer (smallint, integer, bigint)",
                            plan.version_type));
    }
    plan.load_sql = parts.sql(column);
    if (plan.version_kind == VersionKind::timestamp) {
        // The clock row: the statement's start, fixed before its snapshot.
        plan.load_sql += " UNION ALL SELECT NULL, NULL, NULL, " + epoch_microseconds("statement_timestamp()");
    }
    return Status::ok();
}

}  // namespace

Result<SourcePlan> describe_source(pqxx::connection_base& connection, const Source& source,
                                   const std::string& version) {
    LoadParts parts;
    auto plan = std::holds_alternative<TableSource>(source)
                    ? describe_table(connection, std::get<TableSource>(source), parts)
                    : describe_query(connection, std::get<QuerySource>(source), parts);
    if (!plan || version.empty()) return plan;
    INDEXER_RETURN_IF_ERROR(describe_version(connection, parts, version, plan.value()));
    return plan;
}

void prepare_statements(pqxx::connection_base& connection, const SourcePlan& plan) {
    connection.prepare(kLoadStatement, plan.load_sql);
    connection.prepare(kCanonicaliseStatement, plan.canonicalise_sql);
    connection.prepare(kPairStatement, plan.pair_sql);
    if (!plan.sample_sql.empty()) {
        connection.prepare(kSampleStatement, plan.sample_sql);
    }
    connection.prepare_now(kLoadStatement);
}

}  // namespace indexer::postgres::detail
