#include "indexer/sinks/memcached/config.hpp"

#include <charconv>
#include <functional>
#include <nlohmann/json.hpp>
#include <utility>

namespace indexer::memcached_sink {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxTtlSeconds = 10ULL * 365 * 24 * 3600;
constexpr std::uint64_t kMaxValueBytesLimit = 1ULL << 30;
constexpr std::uint64_t kMaxTimeoutMs = 600'000;

[[noreturn]] void fail(const std::string& path, const std::string& message) {
    throw ConfigError(path + ": " + message);
}

std::string type_name(const json& value) {
    if (value.is_number_float()) return "a fractional number";
    if (value.is_number()) return "a number";
    if (value.is_string()) return "a string";
    if (value.is_boolean()) return "a boolean";
    if (value.is_null()) return "null";
    if (value.is_array()) return "an array";
    return "an object";
}

std::uint64_t integer_in(const json& value, const std::string& path, std::uint64_t min, std::uint64_t max) {
    const std::string range = std::to_string(min) + ".." + std::to_string(max);
    if (!value.is_number_integer())
        fail(path, "expected an integer in " + range + ", got " + type_name(value));
    if (value.is_number_unsigned()) {
        const auto n = value.get<std::uint64_t>();
        if (n >= min && n <= max) return n;
    } else {
        const auto n = value.get<std::int64_t>();
        if (n >= 0 && static_cast<std::uint64_t>(n) >= min && static_cast<std::uint64_t>(n) <= max) {
            return static_cast<std::uint64_t>(n);
        }
    }
    fail(path, "expected an integer in " + range + ", got " + value.dump());
}

std::string string_of(const json& value, const std::string& path) {
    if (!value.is_string()) fail(path, "expected a string, got " + type_name(value));
    return value.get<std::string>();
}

bool bool_of(const json& value, const std::string& path) {
    if (!value.is_boolean()) fail(path, "expected true or false, got " + type_name(value));
    return value.get<bool>();
}

std::chrono::milliseconds timeout_of(const json& value, const std::string& path) {
    return std::chrono::milliseconds(integer_in(value, path, 1, kMaxTimeoutMs));
}

ServerAddress server_of(const json& value, const std::string& path) {
    if (value.is_string()) {
        try {
            return parse_server_address(value.get<std::string>());
        } catch (const std::invalid_argument& e) {
            fail(path, e.what());
        }
    }
    if (!value.is_object()) {
        fail(path, "expected \"host:port\" or {\"address\": \"host:port\", \"weight\": N}, got " +
                       type_name(value));
    }
    ServerAddress server;
    bool has_address = false;
    for (const auto& [key, item] : value.items()) {
        if (key == "address") {
            try {
                const std::uint32_t weight = server.weight;
                server = parse_server_address(string_of(item, path + ".address"));
                server.weight = weight;
            } catch (const std::invalid_argument& e) {
                fail(path + ".address", e.what());
            }
            has_address = true;
        } else if (key == "weight") {
            server.weight = static_cast<std::uint32_t>(integer_in(item, path + ".weight", 1, 1000));
        } else {
            std::string key_path = path;
            key_path.append(".").append(key);
            fail(key_path, "unknown key (known: address, weight)");
        }
    }
    if (!has_address) fail(path + ".address", "missing; expected \"host:port\"");
    return server;
}

// Every key of the config object, declared once: its name and how to read it.
struct Option {
    const char* name;
    std::function<void(Config&, const json&, const std::string&)> read;
};

const std::vector<Option>& options() {
    static const std::vector<Option> all = {
        {"servers",
         [](Config& config, const json& value, const std::string& path) {
             if (!value.is_array() || value.empty()) {
                 fail(path, "expected a non-empty array of \"host:port\", got " +
                                (value.is_array() ? std::string("an empty array") : type_name(value)));
             }
             for (std::size_t i = 0; i < value.size(); ++i) {
                 const std::string item_path = path + "[" + std::to_string(i) + "]";
                 ServerAddress server = server_of(value[i], item_path);
                 for (std::size_t j = 0; j < config.servers.size(); ++j) {
                     if (config.servers[j].host == server.host && config.servers[j].port == server.port) {
                         fail(item_path, "duplicate of " + path + "[" + std::to_string(j) + "] (" +
                                             server.display() + ")");
                     }
                 }
                 config.servers.push_back(std::move(server));
             }
         }},
        {"distribution",
         [](Config& config, const json& value, const std::string& path) {
             const std::string name = string_of(value, path);
             if (name == "ketama") {
                 config.distribution = Distribution::Ketama;
             } else if (name == "ketama_weighted") {
                 config.distribution = Distribution::KetamaWeighted;
             } else {
                 fail(path, "expected \"ketama\" or \"ketama_weighted\", got \"" + name + "\"");
             }
         }},
        {"prefix",
         [](Config& config, const json& value, const std::string& path) {
             config.prefix = string_of(value, path);
             for (const char c : config.prefix) {
                 if (is_forbidden_key_byte(static_cast<unsigned char>(c))) {
                     fail(path, "contains a space or control character, which memcached keys cannot hold");
                 }
             }
         }},
        {"key_template",
         [](Config& config, const json& value, const std::string& path) {
             try {
                 config.key_template = KeyTemplate::parse(string_of(value, path));
             } catch (const std::invalid_argument& e) {
                 fail(path, e.what());
             }
         }},
        {"hash_with_prefix", [](Config& config, const json& value,
                                const std::string& path) { config.hash_with_prefix = bool_of(value, path); }},
        {"ttl_seconds",
         [](Config& config, const json& value, const std::string& path) {
             config.ttl_seconds = static_cast<std::uint32_t>(integer_in(value, path, 0, kMaxTtlSeconds));
         }},
        {"max_value_bytes",
         [](Config& config, const json& value, const std::string& path) {
             config.max_value_bytes =
                 static_cast<std::size_t>(integer_in(value, path, 1, kMaxValueBytesLimit));
         }},
        {"connect_timeout_ms",
         [](Config& config, const json& value, const std::string& path) {
             config.connect_timeout = timeout_of(value, path);
         }},
        {"io_timeout_ms", [](Config& config, const json& value,
                             const std::string& path) { config.io_timeout = timeout_of(value, path); }},
        {"dead_server_retry_ms",
         [](Config& config, const json& value, const std::string& path) {
             config.dead_server_retry = timeout_of(value, path);
         }},
    };
    return all;
}

std::string known_keys() {
    std::string names;
    for (const Option& option : options()) {
        if (!names.empty()) names += ", ";
        names += option.name;
    }
    return names;
}

}  // namespace

std::string ServerAddress::display() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ServerAddress parse_server_address(std::string_view text) {
    const std::string expected = "expected \"host:port\", got \"" + std::string(text) + "\"";
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            throw std::invalid_argument(expected);
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) throw std::invalid_argument(expected);
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty() || port.empty()) throw std::invalid_argument(expected);
    for (const char c : host) {
        if (static_cast<unsigned char>(c) <= 0x20) throw std::invalid_argument(expected);
    }
    unsigned number = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (error != std::errc{} || end != port.data() + port.size() || number == 0 || number > 65535) {
        throw std::invalid_argument(expected + " (port must be 1..65535)");
    }
    return ServerAddress{std::string(host), static_cast<std::uint16_t>(number), 1};
}

Config parse_config(std::string_view json_text) {
    json root;
    try {
        root = json::parse(json_text);
    } catch (const json::parse_error& e) {
        fail("config", std::string("invalid JSON: ") + e.what());
    }
    if (!root.is_object()) fail("config", "expected an object, got " + type_name(root));

    Config config;
    for (const auto& [key, value] : root.items()) {
        const Option* option = nullptr;
        for (const Option& candidate : options()) {
            if (key == candidate.name) option = &candidate;
        }
        if (option == nullptr) fail("config." + key, "unknown key (known: " + known_keys() + ")");
        option->read(config, value, "config." + key);
    }

    if (config.servers.empty())
        fail("config.servers", "missing; expected a non-empty array of \"host:port\"");
    if (config.distribution == Distribution::Ketama) {
        for (std::size_t i = 0; i < config.servers.size(); ++i) {
            if (config.servers[i].weight != 1) {
                fail("config.servers[" + std::to_string(i) + "].weight",
                     "weights need \"distribution\": \"ketama_weighted\"");
            }
        }
    }
    const std::size_t readable = config.prefix.size() + config.key_template.head().size();
    if (readable > KeyBuilder::max_readable_bytes()) {
        fail(root.contains("prefix") ? "config.prefix" : "config.key_template",
             "the prefix and the template text before {id} take " + std::to_string(readable) +
                 " bytes; at most " + std::to_string(KeyBuilder::max_readable_bytes()) +
                 " leave room for hashed keys within memcached's 250");
    }
    return config;
}

}  // namespace indexer::memcached_sink
