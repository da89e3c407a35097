#include "indexer/sinks/elasticsearch/config.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "indexer/sinks/elasticsearch/redact.hpp"

namespace indexer::sinks::elasticsearch {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
    throw ConfigError(path + ": " + problem);
}

std::string type_name(const json& value) {
    if (value.is_number_float()) return "a number with a fraction";
    if (value.is_object() || value.is_array()) return std::string("an ") + value.type_name();
    return std::string("a ") + value.type_name();
}

const std::string& expect_string(const json& value, const std::string& path, bool allow_empty = false) {
    if (!value.is_string()) fail(path, "expected a string, got " + type_name(value));
    const auto& text = value.get_ref<const std::string&>();
    if (!allow_empty && text.empty()) fail(path, "must not be empty");
    return text;
}

bool expect_bool(const json& value, const std::string& path) {
    if (!value.is_boolean()) fail(path, "expected true or false, got " + type_name(value));
    return value.get<bool>();
}

std::uint64_t expect_integer(const json& value, const std::string& path, std::uint64_t min,
                             std::uint64_t max) {
    const std::string range =
        "expected an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (value.is_number_unsigned()) {
        const auto n = value.get<std::uint64_t>();
        if (n < min || n > max) fail(path, range + ", got " + std::to_string(n));
        return n;
    }
    if (value.is_number_integer()) fail(path, range + ", got " + std::to_string(value.get<std::int64_t>()));
    fail(path, range + ", got " + type_name(value));
}

// One key of an object: its name and how its value is read and checked.
// Declared once per key; the list also names the known keys in errors.
struct Key {
    std::string_view name;
    std::function<void(const json&, const std::string&, Config&)> read;
};

void read_object(const json& object, const std::string& path, const std::vector<Key>& keys, Config& config) {
    if (!object.is_object()) fail(path, "expected an object, got " + type_name(object));
    for (const auto& [name, value] : object.items()) {
        const Key* key = nullptr;
        for (const auto& candidate : keys) {
            if (candidate.name == name) key = &candidate;
        }
        std::string key_path = path;
        key_path.append(".").append(name);
        if (key == nullptr) {
            std::string known;
            for (const auto& candidate : keys) {
                if (!known.empty()) known += ", ";
                known += candidate.name;
            }
            fail(key_path, "unknown key (known keys: " + known + ")");
        }
        key->read(value, key_path, config);
    }
}

// The index names Elasticsearch and OpenSearch both accept.
void validate_index_name(const std::string& name, const std::string& path) {
    if (name == "." || name == "..") fail(path, "\"" + name + "\" is not a valid index name");
    if (name.size() > 255) fail(path, "an index name is at most 255 bytes");
    if (name.front() == '-' || name.front() == '_' || name.front() == '+') {
        fail(path, "an index name must not start with '-', '_' or '+'");
    }
    for (char c : name) {
        if (c >= 'A' && c <= 'Z') fail(path, "an index name must be lower case, got \"" + name + "\"");
        if (std::string_view("\\/*?\"<>| ,#:").find(c) != std::string_view::npos ||
            static_cast<unsigned char>(c) < 0x20) {
            fail(path, "an index name must not contain '" + std::string(1, c) + "'");
        }
    }
}

void readable_file(const std::string& file, const std::string& path) {
    std::ifstream in(file);
    if (!in) fail(path, "cannot read file \"" + file + "\"");
}

void read_host(const json& value, const std::string& path, Config& config, std::string& url_credentials) {
    if (!value.is_string()) fail(path, "expected an http(s) URL, got " + type_name(value));
    const auto& text = value.get_ref<const std::string&>();
    ParsedUrl url;
    if (!parse_url(text, url)) {
        fail(path,
             "expected an http(s) URL such as \"http://127.0.0.1:9200\", got \"" + redact_url(text) + "\"");
    }
    if (url.has_userinfo) {
        if (!url_credentials.empty() && url_credentials != url.userinfo) {
            fail(path, "every host must carry the same credentials (or move them to config.auth)");
        }
        url_credentials = url.userinfo;
    }
    config.hosts.push_back(url.scheme + "://" + url.host_port + url.path);
}

void read_hosts(const json& value, const std::string& path, Config& config) {
    if (!value.is_array()) fail(path, "expected an array of http(s) URLs, got " + type_name(value));
    if (value.empty()) fail(path, "needs at least one URL");
    std::string url_credentials;
    for (std::size_t i = 0; i < value.size(); ++i) {
        read_host(value[i], path + "[" + std::to_string(i) + "]", config, url_credentials);
    }
    if (url_credentials.empty()) return;
    // "user:password@" in a URL is basic authentication, as in curl.
    const auto colon = url_credentials.find(':');
    Auth auth;
    auth.kind = AuthKind::Basic;
    if (!percent_decode(url_credentials.substr(0, colon), auth.username) ||
        (colon != std::string::npos && !percent_decode(url_credentials.substr(colon + 1), auth.password))) {
        fail(path, "malformed %-escape in the credentials of a URL");
    }
    if (config.auth.kind != AuthKind::None) fail(path, "credentials in a URL and config.auth are exclusive");
    config.auth = std::move(auth);
}

void read_auth(const json& value, const std::string& path, Config& config) {
    if (config.auth.kind != AuthKind::None) fail(path, "credentials in a URL and config.auth are exclusive");
    Config scratch;
    static const std::vector<Key> keys = {
        {"username",
         [](const json& v, const std::string& p, Config& c) { c.auth.username = expect_string(v, p); }},
        {"password",
         [](const json& v, const std::string& p, Config& c) { c.auth.password = expect_string(v, p, true); }},
        {"api_key",
         [](const json& v, const std::string& p, Config& c) { c.auth.api_key = expect_string(v, p); }},
        {"bearer_token",
         [](const json& v, const std::string& p, Config& c) { c.auth.bearer_token = expect_string(v, p); }},
    };
    read_object(value, path, keys, scratch);
    Auth& auth = scratch.auth;
    const int kinds = (auth.username.empty() && !value.contains("password") ? 0 : 1) +
                      (auth.api_key.empty() ? 0 : 1) + (auth.bearer_token.empty() ? 0 : 1);
    if (kinds != 1) {
        fail(path,
             "expected exactly one of {\"username\", \"password\"}, {\"api_key\"} or {\"bearer_token\"}");
    }
    if (!auth.api_key.empty()) {
        auth.kind = AuthKind::ApiKey;
    } else if (!auth.bearer_token.empty()) {
        auth.kind = AuthKind::Bearer;
    } else {
        if (auth.username.empty()) fail(path + ".username", "required with a password");
        if (!value.contains("password")) fail(path + ".password", "required with a username");
        auth.kind = AuthKind::Basic;
    }
    config.auth = std::move(auth);
}

void read_tls(const json& value, const std::string& path, Config& config) {
    static const std::vector<Key> keys = {
        {"ca_file",
         [](const json& v, const std::string& p, Config& c) {
             c.tls.ca_file = expect_string(v, p);
             readable_file(c.tls.ca_file, p);
         }},
        {"verify", [](const json& v, const std::string& p, Config& c) { c.tls.verify = expect_bool(v, p); }},
        {"client_cert",
         [](const json& v, const std::string& p, Config& c) {
             c.tls.client_cert = expect_string(v, p);
             readable_file(c.tls.client_cert, p);
         }},
        {"client_key",
         [](const json& v, const std::string& p, Config& c) {
             c.tls.client_key = expect_string(v, p);
             readable_file(c.tls.client_key, p);
         }},
        {"client_key_password", [](const json& v, const std::string& p,
                                   Config& c) { c.tls.client_key_password = expect_string(v, p); }},
    };
    read_object(value, path, keys, config);
    if (!config.tls.client_key.empty() && config.tls.client_cert.empty()) {
        fail(path + ".client_key", "needs tls.client_cert");
    }
}

void read_create_index(const json& value, const std::string& path, Config& config) {
    static const std::vector<Key> keys = {
        {"body_file", [](const json& v, const std::string& p,
                         Config& c) { c.create_index_body_file = expect_string(v, p); }},
    };
    read_object(value, path, keys, config);
    const std::string file_path = path + ".body_file";
    if (config.create_index_body_file.empty()) fail(file_path, "required");
    std::ifstream in(config.create_index_body_file, std::ios::binary);
    if (!in) fail(file_path, "cannot read file \"" + config.create_index_body_file + "\"");
    std::ostringstream text;
    text << in.rdbuf();
    const json body = json::parse(text.str(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        fail(file_path, "\"" + config.create_index_body_file +
                            "\" must hold a JSON object (the index's settings and mappings)");
    }
    config.create_index_body = body.dump();
}

const std::vector<Key>& top_level_keys() {
    static const std::vector<Key> keys = {
        {"hosts", read_hosts},
        {"index",
         [](const json& v, const std::string& p, Config& c) {
             c.index = expect_string(v, p);
             validate_index_name(c.index, p);
         }},
        {"max_request_bytes",
         [](const json& v, const std::string& p, Config& c) {
             c.max_request_bytes = expect_integer(v, p, 1024, std::uint64_t{1} << 31);
         }},
        {"max_request_ops", [](const json& v, const std::string& p,
                               Config& c) { c.max_request_ops = expect_integer(v, p, 1, 100'000); }},
        {"max_in_flight_requests", [](const json& v, const std::string& p,
                                      Config& c) { c.max_in_flight_requests = expect_integer(v, p, 1, 64); }},
        {"gzip", [](const json& v, const std::string& p, Config& c) { c.gzip = expect_bool(v, p); }},
        {"connect_timeout_ms",
         [](const json& v, const std::string& p, Config& c) {
             c.connect_timeout = std::chrono::milliseconds(expect_integer(v, p, 1, 600'000));
         }},
        {"request_timeout_ms",
         [](const json& v, const std::string& p, Config& c) {
             c.request_timeout = std::chrono::milliseconds(expect_integer(v, p, 1, 3'600'000));
         }},
        {"host_cooldown_ms",
         [](const json& v, const std::string& p, Config& c) {
             c.host_cooldown = std::chrono::milliseconds(expect_integer(v, p, 0, 3'600'000));
         }},
        {"auth", read_auth},
        {"tls", read_tls},
        {"create_index", read_create_index},
    };
    return keys;
}

}  // namespace

Config parse_config(std::string_view json_text) {
    json root;
    try {
        root = json::parse(json_text);
    } catch (const json::parse_error& e) {
        // The message names a byte position, never the text around it (it may hold a secret).
        throw ConfigError(std::string("config: not valid JSON (byte ") + std::to_string(e.byte) + ")");
    }
    Config config;
    // auth is read before hosts so that the "exclusive" check sees both orders.
    if (root.is_object() && root.contains("auth")) read_auth(root["auth"], "config.auth", config);
    json rest = root;
    if (rest.is_object()) rest.erase("auth");
    read_object(rest, "config", top_level_keys(), config);
    if (config.hosts.empty()) fail("config.hosts", "required (an array of http(s) URLs)");
    if (!config.create_index_body.empty() && config.index.empty()) {
        fail("config.create_index", "needs config.index (the index to create)");
    }
    return config;
}

std::vector<std::string> secrets_of(const Config& config) {
    std::vector<std::string> secrets;
    for (const std::string* s : {&config.auth.password, &config.auth.api_key, &config.auth.bearer_token,
                                 &config.tls.client_key_password}) {
        if (!s->empty()) secrets.push_back(*s);
    }
    return secrets;
}

std::vector<std::string_view> config_keys() {
    std::vector<std::string_view> names;
    for (const auto& key : top_level_keys()) names.push_back(key.name);
    return names;
}

}  // namespace indexer::sinks::elasticsearch
