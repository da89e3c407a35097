// The configuration of the Elasticsearch/OpenSearch sink: the `config`
// subtree of a pipeline's sink, parsed and validated once when the sink opens.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::sinks::elasticsearch {

// A configuration mistake, found at open. what() names the key path, e.g.
// "config.hosts[0]: expected an http(s) URL". Never contains a secret.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class AuthKind { None, Basic, ApiKey, Bearer };

struct Auth {
    AuthKind kind = AuthKind::None;
    std::string username;      // Basic
    std::string password;      // Basic
    std::string api_key;       // ApiKey: the encoded key, sent as "Authorization: ApiKey <api_key>"
    std::string bearer_token;  // Bearer: sent as "Authorization: Bearer <token>"
};

struct Tls {
    std::string ca_file;  // empty = the system's CA bundle
    bool verify = true;   // peer certificate and host name
    std::string client_cert;
    std::string client_key;
    std::string client_key_password;
};

struct Config {
    // Base URLs, "scheme://host[:port][/path-prefix]": credentials removed
    // (they move to `auth`), no trailing slash.
    std::vector<std::string> hosts;
    // The default index; an op's target overrides it. Empty = every op must carry a target.
    std::string index;
    std::size_t max_request_bytes = std::size_t{5} * 1024 * 1024;  // uncompressed NDJSON per _bulk request
    std::size_t max_request_ops = 1000;
    std::size_t max_in_flight_requests = 4;
    // gzip request bodies (and accept gzip answers). Off by default: measured on the
    // benchmark, it cost about a fifth of the pipeline's CPU and a tenth of its
    // throughput, to save bandwidth a LAN does not lack (10 000 docs/s are 3 MB/s).
    bool gzip = false;
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds request_timeout{60'000};
    // How long a host that failed to answer is passed over when others remain.
    std::chrono::milliseconds host_cooldown{5'000};
    Auth auth;
    Tls tls;
    // Settings/mappings of the index to create at open when it is missing;
    // empty = do not create. Loaded from `create_index.body_file`.
    std::string create_index_body;
    std::string create_index_body_file;
};

// Parses and validates the configuration (a JSON object as text). Unknown
// keys are errors. Throws ConfigError.
Config parse_config(std::string_view json_text);

// The secrets of a configuration (passwords, keys, tokens), for redaction.
std::vector<std::string> secrets_of(const Config& config);

// The keys `parse_config` accepts at the top level, for documentation and errors.
std::vector<std::string_view> config_keys();

}  // namespace indexer::sinks::elasticsearch
