#include <indexer/config/redaction.hpp>

#include "config_schema.hpp"

#include <array>
#include <cctype>

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

}  // namespace

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
