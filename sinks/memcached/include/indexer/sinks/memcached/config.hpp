// The memcached sink's configuration: the `config` object a pipeline gives
// the sink, parsed and validated once at open. README.md documents each key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "indexer/sinks/memcached/key_builder.hpp"

namespace indexer::memcached_sink {

struct ServerAddress {
    std::string host;  // name or address, IPv6 without brackets
    std::uint16_t port = 0;
    std::uint32_t weight = 1;

    // "host:port", "[v6]:port": how logs and messages name the server.
    std::string display() const;
};

enum class Distribution {
    Ketama,         // MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA, libmemcached's default hashes
    KetamaWeighted  // MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED: MD5, weights (libketama compatible)
};

struct Config {
    std::vector<ServerAddress> servers;
    Distribution distribution = Distribution::Ketama;
    std::string prefix;
    KeyTemplate key_template = KeyTemplate::parse("{id}");
    bool hash_with_prefix = false;
    std::uint32_t ttl_seconds = 0;                           // 0 = never expires
    std::size_t max_value_bytes = std::size_t{1024} * 1024;  // memcached's default item size
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds io_timeout{5000};
    std::chrono::milliseconds dead_server_retry{2000};
};

// A configuration error; what() starts with the key path, e.g.
// "config.servers[1]: expected \"host:port\", got \"localhost\"".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses the JSON text of the sink's config object. Throws ConfigError.
Config parse_config(std::string_view json_text);

// "host:port" or "[v6]:port"; throws std::invalid_argument with a reason.
ServerAddress parse_server_address(std::string_view text);

}  // namespace indexer::memcached_sink
