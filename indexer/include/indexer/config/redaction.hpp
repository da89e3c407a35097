// Showing configuration without its secrets, for `indexer check-config` and
// for logs.
#pragma once

#include <indexer/config/config.hpp>

#include <string>
#include <string_view>

namespace indexer::config {

// What replaces a secret.
inline constexpr std::string_view kRedacted = "<redacted>";

// The effective configuration (defaults filled in) as YAML, with secrets
// replaced: the password of the PostgreSQL URL, Kafka properties and sink
// config keys whose names look secret (is_secret_name), and the password of
// any URL with credentials inside a sink config.
std::string to_redacted_yaml(const Config& config);

// Whether a setting with this name holds a secret: its name contains (in any
// case) password, passwd, secret, token, api_key, apikey, credential,
// private_key, sasl.jaas or ssl.key.
bool is_secret_name(std::string_view name);

// A libpq connection string with its password replaced, in both forms:
// postgresql://user:secret@host/db?password=... and "host=h password=secret".
std::string redact_connection_string(std::string_view connection_string);

// A URL with the password of its user info replaced
// (https://user:secret@host -> https://user:<redacted>@host); other text as is.
std::string redact_url_credentials(std::string_view text);

}  // namespace indexer::config
