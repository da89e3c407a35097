// Showing configuration without its secrets, for `indexer check-config` and
// for logs.
#pragma once

#include <indexer/config/config.hpp>

#include <string>
#include <string_view>
#include <vector>

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

// Every secret of `config`, as the text a client library might echo: the
// PostgreSQL password (the URL's user info and `password` parameters, or the
// key=value string's `password`) as written, percent-decoded and
// percent-encoded; Kafka properties with secret names (is_secret_name,
// `sasl.password` included); every string under a secret-looking key of a sink
// config, and the passwords of URLs inside sink configs.
std::vector<std::string> secrets_of(const Config& config);

// The shortest fragment of a secret that is looked for in text: shorter pieces
// are too common to redact without mangling every message.
inline constexpr std::size_t kShortestSecretFragment = 4;

// `text` with every run of at least kShortestSecretFragment characters that is
// part of one of `secrets` replaced by kRedacted, and the passwords of URLs
// replaced (redact_url_credentials). Fragments matter because libpq, reading a
// password with `%`, `@`, `/` or `:` written raw in a URL, splits it at those
// characters and echoes the pieces ("invalid percent-encoded token: ...",
// "could not translate host name ...").
std::string redact_secrets(std::string_view text, const std::vector<std::string>& secrets);

// The process's secrets, set once its configuration is loaded (all commands do
// so through load_config); `redact` is what every error text of a client
// library (libpq, librdkafka, libcurl, a sink plugin) goes through before it is
// logged, served on /readyz or printed: redact_secrets with those secrets.
void set_process_secrets(std::vector<std::string> secrets);
std::string redact(std::string_view text);

}  // namespace indexer::config
