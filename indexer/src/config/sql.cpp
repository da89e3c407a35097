#include <indexer/config/sql.hpp>

#include <algorithm>

namespace indexer::config {
namespace {

// PostgreSQL keeps NAMEDATALEN - 1 bytes of a name and silently cuts the rest.
constexpr std::size_t kMaxIdentifierBytes = 63;

bool is_ascii_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_non_ascii(char c) {
    return static_cast<unsigned char>(c) >= 0x80;
}
bool is_identifier_start(char c) {
    return is_ascii_letter(c) || c == '_' || is_non_ascii(c);
}
bool is_identifier_char(char c) {
    return is_identifier_start(c) || is_digit(c) || c == '$';
}

// Whether an unquoted identifier reads back as exactly this (lower-case) name.
bool needs_no_quotes(std::string_view name) {
    if (name.empty() || !is_identifier_start(name[0])) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return (is_identifier_char(c) && !(c >= 'A' && c <= 'Z')); });
}

std::string display_identifier(std::string_view name) {
    return needs_no_quotes(name) ? std::string(name) : quote_sql_identifier(name);
}

// The end of a quoted identifier that starts at `start` (a '"'), just past its
// closing quote, or npos when it is not closed.
std::size_t end_of_quoted(std::string_view text, std::size_t start) {
    std::size_t i = start + 1;
    while (i < text.size()) {
        if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        ++i;
    }
    return std::string_view::npos;
}

}  // namespace

std::string quote_sql_identifier(std::string_view name) {
    std::string quoted = "\"";
    for (char c : name) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    quoted += '"';
    return quoted;
}

std::string TableName::quoted() const {
    return schema.empty() ? quote_sql_identifier(name)
                          : quote_sql_identifier(schema) + "." + quote_sql_identifier(name);
}

std::string TableName::to_string() const {
    return schema.empty() ? display_identifier(name)
                          : display_identifier(schema) + "." + display_identifier(name);
}

Result<std::string> parse_sql_identifier(std::string_view text) {
    if (text.empty()) return Status::error("an identifier cannot be empty");
    std::string name;
    if (text.front() == '"') {
        if (end_of_quoted(text, 0) != text.size()) {
            return Status::error(
                "a quoted identifier must end with its closing '\"' (write \"\" for a quote inside)");
        }
        for (std::size_t i = 1; i + 1 < text.size(); ++i) {
            if (text[i] == '\0') return Status::error("an identifier cannot contain a NUL character");
            name += text[i];
            if (text[i] == '"') ++i;  // the second quote of an escaped pair
        }
        if (name.empty()) return Status::error("a quoted identifier cannot be empty");
    } else {
        if (!is_identifier_start(text.front())) {
            return Status::error(std::string("an unquoted identifier cannot start with '") + text.front() +
                                 "'");
        }
        for (char c : text) {
            if (!is_identifier_char(c)) {
                return Status::error(
                    std::string("'") + c +
                    "' is not allowed in an unquoted identifier (double-quote the name to use it)");
            }
            name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
    }
    if (name.size() > kMaxIdentifierBytes) {
        return Status::error("an identifier has at most 63 bytes (PostgreSQL would cut it), this one has " +
                             std::to_string(name.size()));
    }
    return name;
}

Result<TableName> parse_table_name(std::string_view text) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '"') {
            const std::size_t end = end_of_quoted(text, i);
            if (end == std::string_view::npos) return Status::error("a quoted identifier is not closed");
            i = end;
        } else if (text[i] == '.') {
            parts.push_back(text.substr(start, i - start));
            start = ++i;
        } else {
            ++i;
        }
    }
    parts.push_back(text.substr(start));
    if (parts.size() > 2) {
        return Status::error("expected table or schema.table, got " + std::to_string(parts.size()) +
                             " parts");
    }
    TableName table;
    for (std::size_t part = 0; part < parts.size(); ++part) {
        Result<std::string> identifier = parse_sql_identifier(parts[part]);
        if (!identifier) return identifier.status();
        (part + 1 == parts.size() ? table.name : table.schema) = std::move(identifier).value();
    }
    return table;
}

std::vector<int> sql_parameter_numbers(std::string_view sql) {
    std::vector<int> numbers;
    std::size_t i = 0;
    const auto skip_to = [&](std::string_view terminator) {
        const std::size_t end = sql.find(terminator, i);
        i = end == std::string_view::npos ? sql.size() : end + terminator.size();
    };
    while (i < sql.size()) {
        const char c = sql[i];
        const bool after_identifier = i > 0 && is_identifier_char(sql[i - 1]);
        if (c == '\'') {
            // E'...' strings escape with backslashes; standard strings only with ''.
            const bool backslash_escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                                           (i < 2 || !is_identifier_char(sql[i - 2]));
            ++i;
            while (i < sql.size()) {
                if (backslash_escapes && sql[i] == '\\') {
                    i += 2;
                } else if (sql[i] == '\'') {
                    ++i;
                    if (i < sql.size() && sql[i] == '\'') {
                        ++i;
                    } else {
                        break;
                    }
                } else {
                    ++i;
                }
            }
        } else if (c == '"') {
            const std::size_t end = end_of_quoted(sql, i);
            i = end == std::string_view::npos ? sql.size() : end;
        } else if (c == '-' && sql.substr(i, 2) == "--") {
            skip_to("\n");
        } else if (c == '/' && sql.substr(i, 2) == "/*") {
            // Block comments nest in PostgreSQL.
            int depth = 0;
            while (i < sql.size()) {
                if (sql.substr(i, 2) == "/*") {
                    ++depth;
                    i += 2;
                } else if (sql.substr(i, 2) == "*/") {
                    i += 2;
                    if (--depth == 0) break;
                } else {
                    ++i;
                }
            }
        } else if (c == '$' && !after_identifier && i + 1 < sql.size() && is_digit(sql[i + 1])) {
            std::size_t end = i + 1;
            int number = 0;
            while (end < sql.size() && is_digit(sql[end])) {
                if (number < 100'000) number = number * 10 + (sql[end] - '0');
                ++end;
            }
            numbers.push_back(number);
            i = end;
        } else if (c == '$' && !after_identifier) {
            // A dollar-quoted string: $$...$$ or $tag$...$tag$.
            std::size_t tag_end = i + 1;
            if (tag_end < sql.size() && is_identifier_start(sql[tag_end])) {
                while (tag_end < sql.size() && is_identifier_char(sql[tag_end]) && sql[tag_end] != '$')
                    ++tag_end;
            }
            if (tag_end < sql.size() && sql[tag_end] == '$') {
                const std::string tag(sql.substr(i, tag_end - i + 1));
                i = tag_end + 1;
                skip_to(tag);
            } else {
                ++i;
            }
        } else {
            ++i;
        }
    }
    std::sort(numbers.begin(), numbers.end());
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    return numbers;
}

}  // namespace indexer::config
