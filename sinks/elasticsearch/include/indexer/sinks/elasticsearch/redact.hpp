// Keeps credentials out of logs and error messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace indexer::sinks::elasticsearch {

// The parts of an http(s) URL this sink cares about.
struct ParsedUrl {
    std::string scheme;     // lower case: "http" or "https"
    std::string userinfo;   // raw (percent-encoded) "user[:password]", empty when absent
    std::string host_port;  // "host[:port]" or "[v6]:port"
    std::string path;       // "" or "/prefix" without trailing slash
    bool has_userinfo = false;
};

// Parses "scheme://[userinfo@]host[:port][/path]"; false when it is not an
// http(s) URL of that shape (queries and fragments are refused).
bool parse_url(std::string_view text, ParsedUrl& out);

// The URL with any "user:password@" replaced by "***@". Text that does not
// look like a URL is returned unchanged.
std::string redact_url(std::string_view url);

// Replaces every occurrence of a secret, and the userinfo of every URL, in
// free text (curl errors, server messages) with "***". Secrets shorter than
// four bytes are not searched for: they would mangle ordinary words.
class Redactor {
public:
    Redactor() = default;
    explicit Redactor(std::vector<std::string> secrets);
    std::string operator()(std::string_view text) const;

private:
    std::vector<std::string> secrets_;
};

// Decodes %XX escapes; false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out);

}  // namespace indexer::sinks::elasticsearch
