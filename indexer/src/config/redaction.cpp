#include <indexer/config/redaction.hpp>

#include "config_schema.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace indexer::config {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Replaces the value of every `password=` parameter in the query of a URL.
std::string redact_query_passwords(std::string url) {
    const std::size_t query = url.find('?');
    if (query == std::string::npos) return url;
    std::size_t start = query + 1;
    while (start < url.size()) {
        std::size_t end = url.find_first_of("&#", start);
        if (end == std::string::npos) end = url.size();
        const std::size_t equals = url.find('=', start);
        if (equals != std::string::npos && equals < end &&
            is_secret_name(url.substr(start, equals - start))) {
            url.replace(equals + 1, end - equals - 1, kRedacted);
            end = equals + 1 + kRedacted.size();
        }
        if (end >= url.size() || url[end] == '#') break;
        start = end + 1;
    }
    return url;
}

// libpq's key=value form: keys, '=', values bare or in single quotes with
// backslash escapes. Anything it cannot read is redacted whole.
std::string redact_key_value_string(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t space_start = i;
        while (i < text.size() && is_space(text[i])) ++i;
        out += text.substr(space_start, i - space_start);
        if (i == text.size()) break;
        const std::size_t key_start = i;
        while (i < text.size() && text[i] != '=' && !is_space(text[i])) ++i;
        const std::string_view key = text.substr(key_start, i - key_start);
        while (i < text.size() && is_space(text[i])) ++i;
        if (i == text.size() || text[i] != '=' || key.empty()) return std::string(kRedacted);
        ++i;
        while (i < text.size() && is_space(text[i])) ++i;
        const std::size_t value_start = i;
        if (i < text.size() && text[i] == '\'') {
            ++i;
            while (i < text.size() && text[i] != '\'') i += text[i] == '\\' ? 2 : 1;
            if (i >= text.size()) return std::string(kRedacted);
            ++i;
        } else {
            while (i < text.size() && !is_space(text[i])) i += text[i] == '\\' ? 2 : 1;
            i = std::min(i, text.size());
        }
        out += key;
        out += '=';
        out += is_secret_name(key) ? kRedacted : text.substr(value_start, i - value_start);
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX decoded where it is well formed; anything else kept as written.
std::string percent_decoded(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
            hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::string percent_encoded(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 15];
        }
    }
    return out;
}

// A secret and the forms a library may print it in.
void add_secret(std::vector<std::string>& secrets, std::string_view value) {
    if (value.empty()) return;
    const std::string decoded = percent_decoded(value);
    for (std::string form : {std::string(value), decoded, percent_encoded(decoded)}) {
        if (std::find(secrets.begin(), secrets.end(), form) == secrets.end())
            secrets.push_back(std::move(form));
    }
}

// libpq's key=value form, value unquoted: `'it\'s'` -> `it's`.
std::string unquoted(std::string_view value) {
    if (value.size() < 2 || value.front() != '\'') return std::string(value);
    std::string out;
    for (std::size_t i = 1; i + 1 < value.size(); ++i) {
        if (value[i] == '\\' && i + 2 < value.size()) ++i;
        out += value[i];
    }
    return out;
}

// The password of a URL's user info; it ends at the last '@' because a raw
// password may hold '@', '/' or ':'.
void add_url_password(std::vector<std::string>& secrets, std::string_view text) {
    const std::size_t scheme = text.find("://");
    if (scheme == std::string_view::npos) return;
    const std::size_t at = text.rfind('@');
    const std::size_t colon = text.find(':', scheme + 3);
    if (at != std::string_view::npos && at > scheme && colon != std::string_view::npos && colon < at) {
        add_secret(secrets, text.substr(colon + 1, at - colon - 1));
    }
}

void add_connection_string_secrets(std::vector<std::string>& secrets, std::string_view text) {
    const std::size_t scheme = text.find("://");
    if (scheme != std::string_view::npos) {
        add_url_password(secrets, text);
        const std::size_t at = text.rfind('@');
        const std::size_t query = text.find('?', at == std::string_view::npos ? scheme : at);
        std::size_t start = query == std::string_view::npos ? text.size() : query + 1;
        while (start < text.size()) {
            const std::size_t end = std::min(text.find('&', start), text.size());
            const std::size_t equals = text.find('=', start);
            if (equals < end && is_secret_name(text.substr(start, equals - start))) {
                add_secret(secrets, text.substr(equals + 1, end - equals - 1));
            }
            start = end + 1;
        }
        return;
    }
    // key=value: the same reading as redact_key_value_string.
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && is_space(text[i])) ++i;
        const std::size_t key_start = i;
        while (i < text.size() && text[i] != '=' && !is_space(text[i])) ++i;
        const std::string_view key = text.substr(key_start, i - key_start);
        while (i < text.size() && is_space(text[i])) ++i;
        if (i < text.size() && text[i] == '=') ++i;
        while (i < text.size() && is_space(text[i])) ++i;
        const std::size_t value_start = i;
        if (i < text.size() && text[i] == '\'') {
            ++i;
            while (i < text.size() && text[i] != '\'') i += text[i] == '\\' ? 2 : 1;
            i = std::min(i + 1, text.size());
        } else {
            while (i < text.size() && !is_space(text[i])) i += text[i] == '\\' ? 2 : 1;
            i = std::min(i, text.size());
        }
        if (is_secret_name(key)) {
            const std::string_view value = text.substr(value_start, i - value_start);
            add_secret(secrets, value);
            add_secret(secrets, unquoted(value));
        }
    }
}

// The quoted values of secret-named settings in a JAAS line
// (`... PlainLoginModule required username="u" password="secret";`): the rest
// of the line is class names, not secrets.
void add_jaas_secrets(std::vector<std::string>& secrets, std::string_view line) {
    std::size_t quote = line.find('"');
    while (quote != std::string_view::npos) {
        const std::size_t end = line.find('"', quote + 1);
        if (end == std::string_view::npos) break;
        std::size_t name_end = quote;
        if (name_end > 0 && line[name_end - 1] == '=') --name_end;
        std::size_t name_start = name_end;
        while (name_start > 0 && !is_space(line[name_start - 1])) --name_start;
        if (is_secret_name(line.substr(name_start, name_end - name_start))) {
            add_secret(secrets, line.substr(quote + 1, end - quote - 1));
        }
        quote = line.find('"', end + 1);
    }
}

void add_json_secrets(std::vector<std::string>& secrets, const nlohmann::json& value, bool secret) {
    if (value.is_object()) {
        for (const auto& [key, element] : value.items())
            add_json_secrets(secrets, element, secret || is_secret_name(key));
    } else if (value.is_array()) {
        for (const auto& element : value) add_json_secrets(secrets, element, secret);
    } else if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        if (secret) {
            add_secret(secrets, text);
        } else {
            add_url_password(secrets, text);
        }
    } else if (secret && value.is_primitive() && !value.is_null()) {
        add_secret(secrets, value.dump());
    }
}

// Secrets prepared for searching: every form, and the set of their
// kShortestSecretFragment-long pieces so that most positions of a text are
// dismissed with one look-up.
struct SecretIndex {
    std::vector<std::string> forms;
    std::unordered_set<std::string> pieces;

    explicit SecretIndex(std::vector<std::string> secrets) : forms(std::move(secrets)) {
        std::erase_if(forms, [](const std::string& form) { return form.size() < kShortestSecretFragment; });
        for (const std::string& form : forms) {
            for (std::size_t i = 0; i + kShortestSecretFragment <= form.size(); ++i) {
                pieces.insert(form.substr(i, kShortestSecretFragment));
            }
        }
    }

    // The longest run at the start of `text` that is part of a secret.
    std::size_t match_at(std::string_view text) const {
        if (text.size() < kShortestSecretFragment ||
            !pieces.contains(std::string(text.substr(0, kShortestSecretFragment)))) {
            return 0;
        }
        std::size_t longest = 0;
        for (const std::string& form : forms) {
            for (std::size_t start = 0; start < form.size(); ++start) {
                std::size_t length = 0;
                while (start + length < form.size() && length < text.size() &&
                       form[start + length] == text[length]) {
                    ++length;
                }
                longest = std::max(longest, length);
            }
        }
        return longest >= kShortestSecretFragment ? longest : 0;
    }

    std::string redact(std::string_view text) const {
        std::string out;
        out.reserve(text.size());
        std::size_t i = 0;
        while (i < text.size()) {
            const std::size_t length = pieces.empty() ? 0 : match_at(text.substr(i));
            if (length > 0) {
                out += kRedacted;
                i += length;
            } else {
                out += text[i++];
            }
        }
        return redact_url_credentials(out);
    }
};

std::mutex process_secrets_mutex;
// Null until set_process_secrets: a static initialiser that allocates could
// throw before main, where nothing can catch it.
std::shared_ptr<const SecretIndex> process_secrets;

}  // namespace

std::vector<std::string> secrets_of(const Config& config) {
    std::vector<std::string> secrets;
    add_connection_string_secrets(secrets, config.postgres.url);
    for (const auto& [key, value] : config.kafka.properties) {
        if (!is_secret_name(key) || key.ends_with(".location")) continue;  // file paths are no secrets
        if (key.starts_with("sasl.jaas")) {
            add_jaas_secrets(secrets, value);
        } else {
            add_secret(secrets, value);
        }
    }
    for (const auto& pipeline : config.pipelines) add_json_secrets(secrets, pipeline.sink.config, false);
    return secrets;
}

std::string redact_secrets(std::string_view text, const std::vector<std::string>& secrets) {
    return SecretIndex(secrets).redact(text);
}

void set_process_secrets(std::vector<std::string> secrets) {
    auto index = std::make_shared<const SecretIndex>(std::move(secrets));
    const std::lock_guard lock(process_secrets_mutex);
    process_secrets = std::move(index);
}

std::string redact(std::string_view text) {
    std::shared_ptr<const SecretIndex> index;
    {
        const std::lock_guard lock(process_secrets_mutex);
        index = process_secrets;
    }
    if (!index) return redact_url_credentials(text);  // no secrets known: nothing to index
    return index->redact(text);
}

bool is_secret_name(std::string_view name) {
    static constexpr std::array<std::string_view, 10> kSecretParts{
        "password", "passwd",     "secret",      "token",     "api_key",
        "apikey",   "credential", "private_key", "sasl.jaas", "ssl.key",
    };
    const std::string lowered = lower(name);
    for (std::string_view part : kSecretParts) {
        if (lowered.find(part) != std::string::npos) return true;
    }
    return false;
}

std::string redact_url_credentials(std::string_view text) {
    std::string out(text);
    std::size_t scheme = out.find("://");
    while (scheme != std::string::npos) {
        const std::size_t authority = scheme + 3;
        std::size_t end = authority;
        while (end < out.size() && !is_space(out[end])) ++end;
        // A password that was not percent-encoded may hold '/', '?', '#', ':'
        // or '@': the last '@' of the word ends the user info. This redacts too
        // much for a URL with '@' in its path, never too little.
        const std::size_t at = out.rfind('@', end == authority ? authority : end - 1);
        if (at != std::string::npos && at >= authority) {
            const std::size_t colon = out.find(':', authority);
            if (colon != std::string::npos && colon < at) {
                out.replace(colon + 1, at - colon - 1, kRedacted);
                end = colon + 1 + kRedacted.size();
            }
        }
        scheme = out.find("://", end);
    }
    return out;
}

std::string redact_connection_string(std::string_view connection_string) {
    // libpq reads a URI only when the string starts with its scheme; anything
    // else is key=value pairs, where a URL in the text (malformed, but shown in
    // errors all the same) still has its credentials hidden.
    if (connection_string.starts_with("postgresql://") || connection_string.starts_with("postgres://")) {
        return redact_query_passwords(redact_url_credentials(connection_string));
    }
    return redact_query_passwords(redact_url_credentials(redact_key_value_string(connection_string)));
}

std::string to_redacted_yaml(const Config& config) {
    YAML::Emitter emitter;
    emitter << config_schema().show(config);
    return std::string(emitter.c_str()) + "\n";
}

}  // namespace indexer::config
