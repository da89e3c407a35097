// The declarative core of the configuration, internal to src/config. A key is
// declared once — name, type (a Codec), required or default, description — and
// that one declaration reads it from YAML (interpolated, type-checked, errors
// with the key's path and position), shows it in the redacted dump and
// documents it in the reference. config_schema.cpp declares every key with it.
#pragma once

#include <indexer/config/interpolation.hpp>
#include <indexer/config/units.hpp>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace indexer::config::schema {

// Where a value sits in the file: "pipelines[1].batch.max_messages".
using Path = std::string;
Path child_path(const Path& parent, std::string_view key);
Path item_path(const Path& parent, std::size_t index);

// One pass over one file: interpolates scalars and collects every error.
class Reader {
public:
    Reader(std::string origin, EnvironmentLookup environment, std::filesystem::path base_directory);

    // Records "<origin>:<line>:<column>: <path>: <message>".
    void error(const YAML::Mark& mark, const Path& path, const std::string& message);

    // The interpolated text of a scalar node. Reports an error and returns
    // nullopt when the node is not a scalar ("expected <expected>, got a list")
    // or when interpolation fails.
    std::optional<std::string> scalar_text(const YAML::Node& node, const Path& path,
                                           std::string_view expected);
    // Reports "expected <expected>, got "<text>"" (plus where the text came
    // from when it was interpolated, and `reason` when there is one).
    void wrong_value(const YAML::Node& node, const Path& path, std::string_view expected,
                     const std::string& text, const std::string& reason, bool show_value = true);

    const std::filesystem::path& base_directory() const { return base_directory_; }
    std::size_t error_count() const { return errors_.size(); }
    // Errors in values themselves, not counting those of rules across keys: a
    // section's rules run only when its values (nested ones included) read.
    std::size_t value_error_count() const { return value_errors_; }

    // While one lives, errors are counted as rule errors.
    class RuleScope {
    public:
        explicit RuleScope(Reader& reader) : reader_(reader) { ++reader_.rule_depth_; }
        ~RuleScope() { --reader_.rule_depth_; }
        RuleScope(const RuleScope&) = delete;
        RuleScope& operator=(const RuleScope&) = delete;

    private:
        Reader& reader_;
    };
    // Every error, one per line, in the order of their position in the file.
    std::string report() const;

private:
    struct Error {
        int line;
        int column;
        std::string text;
    };
    std::string origin_;
    EnvironmentLookup environment_;
    std::filesystem::path base_directory_;
    std::vector<Error> errors_;
    std::size_t value_errors_ = 0;
    int rule_depth_ = 0;
};

// "a mapping", "a list", "null" or the scalar's text in quotes, for "got ...".
std::string describe(const YAML::Node& node);
// A string in double quotes with JSON escapes, cut after 80 characters.
std::string quote(std::string_view text);

// "unknown key (did you mean "source"?)" or "unknown key (known keys: a, b)".
std::string unknown_key(const std::string& name, const std::vector<std::string>& known);
// A default value as the reference shows it: `1000`, `"indexer"`, `500ms`.
std::string render_default(const YAML::Node& shown);

// What the reference shows for one key and one section.
struct KeyDoc {
    std::string name;
    std::string type;
    std::string required;  // "yes", "no", or when
    std::string default_value;
    std::string description;
};
struct SectionDoc {
    Path path;  // "pipelines[].source"; "" for the top level
    std::string description;
    std::vector<KeyDoc> keys;
    std::vector<std::string> rules;
};
using Sections = std::vector<SectionDoc>;

// A value type: how to read it, show it and document it.
template <class V>
struct Codec {
    std::string type;  // for the reference: "integer (1–100000)"
    // Reads a present, non-null node; reports its own errors.
    std::function<void(Reader&, const YAML::Node&, const Path&, V&)> read;
    // The value as the redacted dump shows it.
    std::function<YAML::Node(const V&)> show;
    // Sections only: an absent or null section (defaults, missing required keys).
    std::function<void(Reader&, const YAML::Mark&, const Path&, V&)> read_absent;
    // Sections and lists of sections: documents their keys under `path`.
    std::function<void(const Path&, const std::string& description, Sections&)> document;
};

// Scalar codecs. `convert` returns the value or nullopt with an optional reason.
template <class V>
using Convert = std::function<std::optional<V>(const std::string& text, std::string& reason)>;

template <class V>
Codec<V> scalar(const std::string& type, std::string expected, Convert<V> convert,
                std::function<YAML::Node(const V&)> show, bool show_value_in_errors = true) {
    Codec<V> codec;
    codec.type = type;
    codec.read = [expected = std::move(expected), convert = std::move(convert), show_value_in_errors](
                     Reader& reader, const YAML::Node& node, const Path& path, V& out) {
        const std::optional<std::string> text = reader.scalar_text(node, path, expected);
        if (!text) return;
        std::string reason;
        std::optional<V> value = convert(*text, reason);
        if (!value) {
            reader.wrong_value(node, path, expected, *text, reason, show_value_in_errors);
            return;
        }
        out = std::move(*value);
    };
    codec.show = std::move(show);
    return codec;
}

// A string; `check` returns false (and may set a reason) for invalid text.
using Check = std::function<bool(const std::string& text, std::string& reason)>;
Codec<std::string> text(const std::string& type, std::string expected, Check check);
Codec<int> integer(int min, int max);
Codec<bool> boolean();
Codec<Duration> duration(Duration min, Duration max);
// A number of bytes with an optional unit: 1048576, 512KiB, 64MiB, 1GB.
Codec<std::uint64_t> size(std::uint64_t min, std::uint64_t max);
// A path; relative ones are resolved against the config file's directory.
Codec<std::filesystem::path> directory_path();
// A map of scalar values kept as text (Kafka properties). `check_key` returns
// an error for a key that is not allowed; keys that look secret are redacted
// in the dump.
Codec<std::map<std::string, std::string>> string_map(
    std::function<std::string(const std::string& key)> check_key);
// Any mapping, converted to a JSON object (scalars interpolated, then typed:
// quoted ones are strings, plain ones null/bool/number when they read as one).
// Secret-looking keys and URL passwords are redacted in the dump.
Codec<nlohmann::json> json_object();

template <class E>
Codec<E> one_of(std::vector<std::pair<std::string, E>> names) {
    std::string list;
    for (const auto& [name, value] : names) list += (list.empty() ? "" : ", ") + name;
    return scalar<E>(
        "one of: " + list, "one of " + list,
        [names](const std::string& text, std::string&) -> std::optional<E> {
            for (const auto& [name, value] : names) {
                if (name == text) return value;
            }
            return std::nullopt;
        },
        [names](const E& value) {
            for (const auto& [name, candidate] : names) {
                if (candidate == value) return YAML::Node(name);
            }
            return YAML::Node();
        });
}

template <class V>
Codec<std::vector<V>> list_of(Codec<V> item, const std::string& type) {
    Codec<std::vector<V>> codec;
    codec.type = type;
    codec.read = [item](Reader& reader, const YAML::Node& node, const Path& path, std::vector<V>& out) {
        if (!node.IsSequence()) {
            reader.error(node.Mark(), path, "expected a list, got " + describe(node));
            return;
        }
        out.clear();
        for (std::size_t index = 0; index < node.size(); ++index) {
            const YAML::Node element = node[index];
            V value{};
            if (element.IsNull()) {
                reader.error(element.Mark(), item_path(path, index), "expected a value, got null");
            } else {
                item.read(reader, element, item_path(path, index), value);
            }
            out.push_back(std::move(value));
        }
    };
    codec.show = [item](const std::vector<V>& values) {
        YAML::Node list(YAML::NodeType::Sequence);
        for (const V& value : values) list.push_back(item.show(value));
        if (values.empty()) list.SetStyle(YAML::EmitterStyle::Flow);  // "[]", not a dangling block
        return list;
    };
    if (item.document) {
        codec.document = [item](const Path& path, const std::string& description, Sections& sections) {
            item.document(path + "[]", description, sections);
        };
    }
    return codec;
}

// The keys of one YAML mapping, read into a struct S.
template <class S>
class ObjectSchema {
public:
    // Where a rule looks: the mapping (possibly null when the section is
    // absent), its position and path.
    struct Place {
        const YAML::Node& node;
        YAML::Mark mark;
        Path path;

        // The position of `key`'s value, or of the mapping when the key is absent.
        YAML::Mark mark_of(std::string_view key) const {
            if (node.IsMap()) {
                const YAML::Node value = node[std::string(key)];
                if (value.IsDefined() && value.Mark().line >= 0) return value.Mark();
            }
            return mark;
        }
        Path path_of(std::string_view key) const { return child_path(path, key); }
    };
    using Rule = std::function<void(Reader&, const Place&, S&)>;

    template <class V>
    ObjectSchema& required(std::string name, V S::*member, Codec<V> codec, std::string description) {
        return add(std::move(name), member, std::move(codec), "yes", "", std::nullopt,
                   std::move(description));
    }

    template <class V, class D>
    ObjectSchema& with_default(std::string name, V S::*member, Codec<V> codec, D&& value,
                               std::string description) {
        V default_value(std::forward<D>(value));
        std::string shown = render_default(codec.show(default_value));
        return add(std::move(name), member, std::move(codec), "no", std::move(shown),
                   std::move(default_value), std::move(description));
    }

    // Absent means nullopt. `required` says for the reference when a rule
    // requires it after all.
    template <class V>
    ObjectSchema& optional(std::string name, std::optional<V> S::*member, Codec<V> codec,
                           std::string description, std::string required = "no") {
        Field field;
        field.doc = {name, codec.type, std::move(required), "", std::move(description)};
        field.read = [member, codec](Reader& reader, const YAML::Node& node, const Path& path, S& out) {
            V value{};
            codec.read(reader, node, path, value);
            out.*member = std::move(value);
        };
        field.absent = [member](Reader&, const YAML::Mark&, const Path&, S& out) {
            out.*member = std::nullopt;
        };
        field.show = [member, codec, name](const S& in, YAML::Node& map) {
            if (in.*member) map[name] = codec.show(*(in.*member));
        };
        fields_.push_back(std::move(field));
        return *this;
    }

    // Absent leaves the member untouched: a rule of this section (or of an
    // enclosing one) computes it or requires it. `required` and
    // `default_value` say for the reference what that rule does.
    template <class V>
    ObjectSchema& computed(std::string name, V S::*member, Codec<V> codec, std::string required,
                           std::string default_value, std::string description) {
        return add(std::move(name), member, std::move(codec), std::move(required), std::move(default_value),
                   std::nullopt, std::move(description));
    }

    // A nested mapping; absent means all of its defaults. For the reference it
    // is as required as its most required key, unless `required` says better
    // (when a rule requires one of its keys).
    template <class T>
    ObjectSchema& section(std::string name, T S::*member, const ObjectSchema<T>& nested,
                          std::string description, std::optional<std::string> required = std::nullopt) {
        add(std::move(name), member, nested.codec(), "no", "", std::nullopt, std::move(description));
        fields_.back().doc.required = required ? *required : nested.required_summary();
        return *this;
    }

    // A list of mappings; absent means an empty list.
    template <class T>
    ObjectSchema& list(std::string name, std::vector<T> S::*member, const ObjectSchema<T>& item,
                       std::string description) {
        return add(std::move(name), member, list_of(item.codec(), "list of objects"), "no", "empty",
                   std::vector<T>{}, std::move(description));
    }

    // A check across keys, run when the section's own keys read without error.
    ObjectSchema& rule(std::string description, Rule check) {
        rules_.push_back({std::move(description), std::move(check)});
        return *this;
    }

    // Reads `node` (a mapping, or null for an absent section) into `out`.
    void read(Reader& reader, const YAML::Node& node, const YAML::Mark& fallback, const Path& path,
              S& out) const {
        const std::size_t errors_before = reader.value_error_count();
        const YAML::Mark mark = node.IsDefined() && node.Mark().line >= 0 ? node.Mark() : fallback;
        std::vector<std::optional<std::pair<YAML::Node, YAML::Mark>>> given(fields_.size());
        if (node.IsMap()) {
            std::map<std::string, int> first_line;
            for (auto entry = node.begin(); entry != node.end(); ++entry) {
                // Copies: `entry->` is a proxy that dies with the expression.
                const YAML::Node key = entry->first;
                const YAML::Node value = entry->second;
                if (!key.IsScalar()) {
                    reader.error(key.Mark(), path, "a key must be a plain string, got " + describe(key));
                    continue;
                }
                const std::string& name = key.Scalar();
                const auto [previous, inserted] = first_line.emplace(name, key.Mark().line + 1);
                if (!inserted) {
                    reader.error(
                        key.Mark(), child_path(path, name),
                        "duplicate key (first given on line " + std::to_string(previous->second) + ")");
                    continue;
                }
                const std::optional<std::size_t> index = find(name);
                if (!index) {
                    reader.error(key.Mark(), child_path(path, name), unknown_key_message(name));
                    continue;
                }
                given[*index] = std::make_pair(value, key.Mark());
            }
        } else if (!node.IsNull()) {
            reader.error(mark, path, "expected a mapping of keys, got " + describe(node));
            return;
        }
        for (std::size_t index = 0; index < fields_.size(); ++index) {
            const Field& field = fields_[index];
            const Path key_path = child_path(path, field.doc.name);
            if (given[index] && !given[index]->first.IsNull()) {
                field.read(reader, given[index]->first, key_path, out);
            } else {
                field.absent(reader, given[index] ? given[index]->second : mark, key_path, out);
            }
        }
        if (reader.value_error_count() != errors_before) return;
        const Place place{node, mark, path};
        const Reader::RuleScope scope(reader);
        for (const auto& [description, check] : rules_) check(reader, place, out);
    }

    // "yes" when a key must be given, else the condition of a conditionally
    // required key, else "no".
    std::string required_summary() const {
        std::string summary = "no";
        for (const Field& field : fields_) {
            if (field.doc.required == "yes") return "yes";
            if (field.doc.required != "no") summary = field.doc.required;
        }
        return summary;
    }

    // The section's keys as the redacted dump shows them.
    YAML::Node show(const S& in) const {
        YAML::Node map(YAML::NodeType::Map);
        for (const Field& field : fields_) field.show(in, map);
        return map;
    }

    // Documents this section and, after it, the sections nested in it.
    void document(const Path& path, const std::string& description, Sections& sections) const {
        SectionDoc doc{path, description, {}, {}};
        for (const Field& field : fields_) doc.keys.push_back(field.doc);
        for (const auto& [rule_description, check] : rules_) doc.rules.push_back(rule_description);
        sections.push_back(std::move(doc));
        for (const Field& field : fields_) {
            if (field.document)
                field.document(child_path(path, field.doc.name), field.doc.description, sections);
        }
    }

    // This section as a value type (for nesting). The schema must outlive it.
    Codec<S> codec() const {
        Codec<S> codec;
        codec.type = "object";
        codec.read = [this](Reader& reader, const YAML::Node& node, const Path& path, S& out) {
            read(reader, node, node.Mark(), path, out);
        };
        codec.read_absent = [this](Reader& reader, const YAML::Mark& mark, const Path& path, S& out) {
            read(reader, YAML::Node(YAML::NodeType::Null), mark, path, out);
        };
        codec.show = [this](const S& in) { return show(in); };
        codec.document = [this](const Path& path, const std::string& description, Sections& sections) {
            document(path, description, sections);
        };
        return codec;
    }

private:
    struct Field {
        KeyDoc doc;
        std::function<void(Reader&, const YAML::Node&, const Path&, S&)> read;
        std::function<void(Reader&, const YAML::Mark&, const Path&, S&)> absent;
        std::function<void(const S&, YAML::Node&)> show;
        std::function<void(const Path&, const std::string&, Sections&)> document;
    };

    template <class V>
    ObjectSchema& add(std::string name, V S::*member, Codec<V> codec, std::string required,
                      std::string shown_default, std::type_identity_t<std::optional<V>> default_value,
                      std::string description) {
        Field field;
        const bool is_required = required == "yes";
        field.doc = {name, codec.type, std::move(required), std::move(shown_default), std::move(description)};
        field.read = [member, read = codec.read](Reader& reader, const YAML::Node& node, const Path& path,
                                                 S& out) { read(reader, node, path, out.*member); };
        field.absent = [member, is_required, default_value = std::move(default_value),
                        read_absent = codec.read_absent](Reader& reader, const YAML::Mark& mark,
                                                         const Path& path, S& out) {
            if (is_required) {
                reader.error(mark, path, "required key is missing");
            } else if (default_value) {
                out.*member = *default_value;
            } else if (read_absent) {
                read_absent(reader, mark, path, out.*member);
            }
        };
        field.show = [member, show = codec.show, name](const S& in, YAML::Node& map) {
            map[name] = show(in.*member);
        };
        field.document = codec.document;
        fields_.push_back(std::move(field));
        return *this;
    }

    std::optional<std::size_t> find(std::string_view name) const {
        for (std::size_t index = 0; index < fields_.size(); ++index) {
            if (fields_[index].doc.name == name) return index;
        }
        return std::nullopt;
    }

    std::string unknown_key_message(const std::string& name) const {
        std::vector<std::string> known;
        for (const Field& field : fields_) known.push_back(field.doc.name);
        return unknown_key(name, known);
    }

    std::vector<Field> fields_;
    std::vector<std::pair<std::string, Rule>> rules_;
};

}  // namespace indexer::config::schema
