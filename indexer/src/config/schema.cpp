#include "schema.hpp"

#include <indexer/config/redaction.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <regex>
#include <set>

namespace indexer::config::schema {
namespace {

bool is_plain_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    });
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// YAML 1.2 core schema: what a plain (unquoted) scalar means in JSON.
nlohmann::json resolve_plain_scalar(const std::string& text) {
    static const std::set<std::string> kNulls{"null", "Null", "NULL", "~"};
    static const std::set<std::string> kTrue{"true", "True", "TRUE"};
    static const std::set<std::string> kFalse{"false", "False", "FALSE"};
    static const std::regex kInteger("[-+]?[0-9]+");
    static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (kNulls.count(text) != 0) return nullptr;
    if (kTrue.count(text) != 0) return true;
    if (kFalse.count(text) != 0) return false;
    if (std::regex_match(text, kInteger)) {
        const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
        std::int64_t value = 0;
        const auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
        if (error == std::errc{} && end == text.data() + text.size()) return value;
        std::uint64_t unsigned_value = 0;
        const auto [uend, uerror] = std::from_chars(begin, text.data() + text.size(), unsigned_value);
        if (uerror == std::errc{} && uend == text.data() + text.size()) return unsigned_value;
    }
    if (std::regex_match(text, kFloat)) {
        try {
            return std::stod(text);
        } catch (const std::exception&) {
            return text;  // out of range for a double: keep what was written
        }
    }
    return text;
}

void to_json(Reader& reader, const YAML::Node& node, const Path& path, nlohmann::json& out) {
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            out = nullptr;
            return;
        case YAML::NodeType::Scalar: {
            const std::optional<std::string> text = reader.scalar_text(node, path, "a value");
            if (!text) return;
            // "!" marks a quoted or block scalar: always a string.
            if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") {
                out = *text;
            } else {
                out = resolve_plain_scalar(*text);
            }
            return;
        }
        case YAML::NodeType::Sequence:
            out = nlohmann::json::array();
            for (std::size_t index = 0; index < node.size(); ++index) {
                nlohmann::json element;
                to_json(reader, node[index], item_path(path, index), element);
                out.push_back(std::move(element));
            }
            return;
        case YAML::NodeType::Map:
            out = nlohmann::json::object();
            for (auto entry = node.begin(); entry != node.end(); ++entry) {
                const YAML::Node key_node = entry->first;  // `entry->` is a temporary proxy
                const YAML::Node value = entry->second;
                if (!key_node.IsScalar()) {
                    reader.error(key_node.Mark(), path,
                                 "a key must be a plain string, got " + describe(key_node));
                    continue;
                }
                const std::string& key = key_node.Scalar();
                if (out.contains(key)) {
                    reader.error(key_node.Mark(), child_path(path, key), "duplicate key");
                    continue;
                }
                to_json(reader, value, child_path(path, key), out[key]);
            }
            return;
    }
}

YAML::Node show_json(const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::object: {
            YAML::Node map(YAML::NodeType::Map);
            for (const auto& [key, element] : value.items()) {
                map[key] = is_secret_name(key) ? YAML::Node(std::string(kRedacted)) : show_json(element);
            }
            if (value.empty()) map.SetStyle(YAML::EmitterStyle::Flow);
            return map;
        }
        case nlohmann::json::value_t::array: {
            YAML::Node list(YAML::NodeType::Sequence);
            for (const auto& element : value) list.push_back(show_json(element));
            if (value.empty()) list.SetStyle(YAML::EmitterStyle::Flow);
            return list;
        }
        case nlohmann::json::value_t::string:
            return YAML::Node(redact_url_credentials(value.get<std::string>()));
        case nlohmann::json::value_t::boolean:
            return YAML::Node(value.get<bool>());
        case nlohmann::json::value_t::number_integer:
            return YAML::Node(value.get<std::int64_t>());
        case nlohmann::json::value_t::number_unsigned:
            return YAML::Node(value.get<std::uint64_t>());
        case nlohmann::json::value_t::number_float:
            return YAML::Node(value.get<double>());
        default:
            return YAML::Node(YAML::NodeType::Null);
    }
}

}  // namespace

Path child_path(const Path& parent, std::string_view key) {
    if (!is_plain_key(key)) return parent + "[" + quote(key) + "]";
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

Path item_path(const Path& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

Reader::Reader(std::string origin, EnvironmentLookup environment, std::filesystem::path base_directory)
    : origin_(std::move(origin)),
      environment_(std::move(environment)),
      base_directory_(std::move(base_directory)) {}

void Reader::error(const YAML::Mark& mark, const Path& path, const std::string& message) {
    std::string text = origin_;
    if (mark.line >= 0) text += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    text += ": ";
    if (!path.empty()) text += path + ": ";
    text += message;
    errors_.push_back({mark.line, mark.column, std::move(text)});
    if (rule_depth_ == 0) ++value_errors_;
}

std::optional<std::string> Reader::scalar_text(const YAML::Node& node, const Path& path,
                                               std::string_view expected) {
    if (!node.IsScalar()) {
        error(node.Mark(), path, "expected " + std::string(expected) + ", got " + describe(node));
        return std::nullopt;
    }
    Result<std::string> value = interpolate(node.Scalar(), environment_);
    if (!value) {
        error(node.Mark(), path, value.error());
        return std::nullopt;
    }
    return std::move(value).value();
}

void Reader::wrong_value(const YAML::Node& node, const Path& path, std::string_view expected,
                         const std::string& text, const std::string& reason, bool show_value) {
    std::string message = "expected " + std::string(expected);
    if (show_value) {
        message += ", got " + quote(text);
        if (node.IsScalar() && node.Scalar() != text) message += " (from " + quote(node.Scalar()) + ")";
    } else {
        message += " (the value is not shown: it may hold a password)";
    }
    if (!reason.empty()) message += ": " + reason;
    error(node.Mark(), path, message);
}

std::string Reader::report() const {
    std::vector<const Error*> sorted;
    for (const Error& error : errors_) sorted.push_back(&error);
    std::stable_sort(sorted.begin(), sorted.end(), [](const Error* a, const Error* b) {
        return std::make_pair(a->line, a->column) < std::make_pair(b->line, b->column);
    });
    std::string text;
    for (const Error* error : sorted) {
        if (!text.empty()) text += '\n';
        text += error->text;
    }
    return text;
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Null:
            return "null";
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Scalar:
            return quote(node.Scalar());
        case YAML::NodeType::Undefined:
            break;
    }
    return "nothing";
}

std::string quote(std::string_view text) {
    constexpr std::size_t kLongest = 80;
    std::string shown(text);
    bool cut = false;
    if (shown.size() > kLongest) {
        std::size_t end = kLongest;
        // Never cut a UTF-8 sequence in half.
        while (end > 0 && (static_cast<unsigned char>(shown[end]) & 0xC0) == 0x80) --end;
        shown.resize(end);
        cut = true;
    }
    return nlohmann::json(shown).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           (cut ? "…" : "");
}

std::string unknown_key(const std::string& name, const std::vector<std::string>& known) {
    std::string best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const std::string& candidate : known) {
        const std::size_t distance = edit_distance(lower(name), lower(candidate));
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    if (!best.empty() && best_distance <= std::max<std::size_t>(2, best.size() / 3)) {
        return "unknown key (did you mean \"" + best + "\"?)";
    }
    std::string list;
    for (const std::string& candidate : known) list += (list.empty() ? "" : ", ") + candidate;
    return "unknown key (known keys: " + list + ")";
}

std::string render_default(const YAML::Node& shown) {
    if (shown.IsScalar()) return shown.Scalar().empty() ? "`\"\"`" : "`" + shown.Scalar() + "`";
    if ((shown.IsSequence() || shown.IsMap()) && shown.size() == 0) return shown.IsMap() ? "`{}`" : "empty";
    if (shown.IsNull()) return "";
    YAML::Emitter emitter;
    emitter << YAML::Flow << shown;
    return "`" + std::string(emitter.c_str()) + "`";
}

Codec<std::string> text(const std::string& type, std::string expected, Check check) {
    return scalar<std::string>(
        type, std::move(expected),
        [check = std::move(check)](const std::string& value,
                                   std::string& reason) -> std::optional<std::string> {
            if (!check(value, reason)) return std::nullopt;
            return value;
        },
        [](const std::string& value) { return YAML::Node(value); });
}

Codec<int> integer(int min, int max) {
    return scalar<int>(
        "integer (" + std::to_string(min) + "–" + std::to_string(max) + ")",
        "an integer between " + std::to_string(min) + " and " + std::to_string(max),
        [min, max](const std::string& value, std::string&) -> std::optional<int> {
            const char* begin = value.data() + (!value.empty() && value[0] == '+' ? 1 : 0);
            long long number = 0;
            const auto [end, error] = std::from_chars(begin, value.data() + value.size(), number);
            if (error != std::errc{} || end != value.data() + value.size() || begin == end)
                return std::nullopt;
            if (number < min || number > max) return std::nullopt;
            return static_cast<int>(number);
        },
        [](const int& value) { return YAML::Node(value); });
}

Codec<bool> boolean() {
    return scalar<bool>(
        "boolean", "true or false",
        [](const std::string& value, std::string&) -> std::optional<bool> {
            const std::string word = lower(value);
            if (word == "true" || word == "yes" || word == "on") return true;
            if (word == "false" || word == "no" || word == "off") return false;
            return std::nullopt;
        },
        [](const bool& value) { return YAML::Node(value); });
}

Codec<Duration> duration(Duration min, Duration max) {
    const std::string range = format_duration(min) + " and " + format_duration(max);
    return scalar<Duration>(
        "duration (" + format_duration(min) + "–" + format_duration(max) + ")",
        "a duration between " + range + " (like 500ms, 5s, 5m or 1h30m)",
        [min, max](const std::string& value, std::string&) -> std::optional<Duration> {
            const std::optional<Duration> parsed = parse_duration(value);
            if (!parsed || *parsed < min || *parsed > max) return std::nullopt;
            return parsed;
        },
        [](const Duration& value) { return YAML::Node(format_duration(value)); });
}

Codec<std::uint64_t> size(std::uint64_t min, std::uint64_t max) {
    const std::string range = format_size(min) + " and " + format_size(max);
    return scalar<std::uint64_t>(
        "size (" + format_size(min) + "–" + format_size(max) + ")",
        "a size between " + range + " (like 512KiB, 64MiB or 1GB)",
        [min, max](const std::string& value, std::string&) -> std::optional<std::uint64_t> {
            const std::optional<std::uint64_t> parsed = parse_size(value);
            if (!parsed || *parsed < min || *parsed > max) return std::nullopt;
            return parsed;
        },
        [](const std::uint64_t& value) { return YAML::Node(format_size(value)); });
}

Codec<std::filesystem::path> directory_path() {
    Codec<std::filesystem::path> codec;
    codec.type = "path";
    codec.read = [](Reader& reader, const YAML::Node& node, const Path& path, std::filesystem::path& out) {
        const std::optional<std::string> value = reader.scalar_text(node, path, "a path");
        if (!value) return;
        if (value->empty()) {
            reader.wrong_value(node, path, "a path", *value, "");
            return;
        }
        out = *value;
        if (out.is_relative() && !reader.base_directory().empty()) {
            out = (reader.base_directory() / out).lexically_normal();
        }
    };
    codec.show = [](const std::filesystem::path& value) { return YAML::Node(value.string()); };
    return codec;
}

Codec<std::map<std::string, std::string>> string_map(
    std::function<std::string(const std::string& key)> check_key) {
    Codec<std::map<std::string, std::string>> codec;
    codec.type = "map of strings";
    codec.read = [check_key = std::move(check_key)](Reader& reader, const YAML::Node& node, const Path& path,
                                                    std::map<std::string, std::string>& out) {
        if (!node.IsMap()) {
            reader.error(node.Mark(), path, "expected a mapping of names to values, got " + describe(node));
            return;
        }
        out.clear();
        for (auto entry = node.begin(); entry != node.end(); ++entry) {
            const YAML::Node key_node = entry->first;  // `entry->` is a temporary proxy
            const YAML::Node value = entry->second;
            if (!key_node.IsScalar()) {
                reader.error(key_node.Mark(), path,
                             "a key must be a plain string, got " + describe(key_node));
                continue;
            }
            const std::string& key = key_node.Scalar();
            const Path key_path = child_path(path, key);
            if (out.count(key) != 0) {
                reader.error(key_node.Mark(), key_path, "duplicate key");
                continue;
            }
            if (const std::string problem = check_key(key); !problem.empty()) {
                reader.error(key_node.Mark(), key_path, problem);
                continue;
            }
            if (value.IsNull()) {
                reader.error(value.Mark(), key_path, "expected a string, number or boolean, got null");
                continue;
            }
            const std::optional<std::string> text =
                reader.scalar_text(value, key_path, "a string, number or boolean");
            if (text) out[key] = *text;
        }
    };
    codec.show = [](const std::map<std::string, std::string>& values) {
        YAML::Node map(YAML::NodeType::Map);
        for (const auto& [key, value] : values)
            map[key] = is_secret_name(key) ? std::string(kRedacted) : value;
        if (values.empty()) map.SetStyle(YAML::EmitterStyle::Flow);
        return map;
    };
    return codec;
}

Codec<nlohmann::json> json_object() {
    Codec<nlohmann::json> codec;
    codec.type = "object (any YAML)";
    codec.read = [](Reader& reader, const YAML::Node& node, const Path& path, nlohmann::json& out) {
        if (!node.IsMap()) {
            reader.error(node.Mark(), path, "expected a mapping, got " + describe(node));
            return;
        }
        to_json(reader, node, path, out);
    };
    codec.show = [](const nlohmann::json& value) { return show_json(value); };
    return codec;
}

}  // namespace indexer::config::schema
