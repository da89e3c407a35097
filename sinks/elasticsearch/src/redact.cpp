#include "indexer/sinks/elasticsearch/redact.hpp"

#include <algorithm>
#include <cctype>

namespace indexer::sinks::elasticsearch {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

bool valid_port(std::string_view port) {
    if (port.empty() || port.size() > 5) return false;
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value >= 1 && value <= 65535;
}

bool valid_host_port(std::string_view host_port) {
    if (host_port.empty()) return false;
    std::string_view host = host_port;
    std::string_view port;
    bool has_port = false;
    if (host_port.front() == '[') {
        const auto close = host_port.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        host = host_port.substr(0, close + 1);
        const std::string_view rest = host_port.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port = rest.substr(1);
            has_port = true;
        }
    } else {
        const auto colon = host_port.rfind(':');
        if (colon != std::string_view::npos) {
            host = host_port.substr(0, colon);
            port = host_port.substr(colon + 1);
            has_port = true;
        }
        if (host.empty()) return false;
        for (char c : host) {
            const auto u = static_cast<unsigned char>(c);
            if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_' || u >= 0x80)) return false;
        }
    }
    return !has_port || valid_port(port);
}

// Characters that end a URL inside free text.
bool ends_url(char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '<' || c == '>' ||
           c == ')' || c == ']' || c == ',';
}

}  // namespace

bool parse_url(std::string_view text, ParsedUrl& out) {
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) return false;
    out = ParsedUrl{};
    out.scheme = lower(text.substr(0, scheme_end));
    if (out.scheme != "http" && out.scheme != "https") return false;
    std::string_view rest = text.substr(scheme_end + 3);
    if (rest.find_first_of("?#") != std::string_view::npos) return false;
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    const auto at = authority.rfind('@');
    if (at != std::string_view::npos) {
        out.has_userinfo = true;
        out.userinfo = std::string(authority.substr(0, at));
        authority = authority.substr(at + 1);
    }
    if (!valid_host_port(authority)) return false;
    out.host_port = std::string(authority);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (path.find_first_of(" \t\r\n") != std::string_view::npos) return false;
    out.path = std::string(path);
    return true;
}

std::string redact_url(std::string_view url) {
    return Redactor{}(url);
}

Redactor::Redactor(std::vector<std::string> secrets) {
    for (auto& secret : secrets) {
        if (secret.size() >= 4) secrets_.push_back(std::move(secret));
    }
    // Longest first, so that a secret containing another is removed whole.
    std::sort(secrets_.begin(), secrets_.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::operator()(std::string_view text) const {
    std::string out(text);
    for (const auto& secret : secrets_) {
        for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + 3)) {
            out.replace(pos, secret.size(), "***");
        }
    }
    // userinfo of URLs: "scheme://user:pass@host" -> "scheme://***@host"
    for (auto pos = out.find("://"); pos != std::string::npos; pos = out.find("://", pos + 3)) {
        const std::size_t start = pos + 3;
        std::size_t end = start;
        while (end < out.size() && !ends_url(out[end]) && out[end] != '/') ++end;
        const auto at = out.rfind('@', end == 0 ? 0 : end - 1);
        if (at != std::string::npos && at >= start && at < end &&
            out.compare(start, at - start, "***") != 0) {
            out.replace(start, at - start, "***");
        }
    }
    return out;
}

bool percent_decode(std::string_view in, std::string& out) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
            return false;
        }
        out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
    }
    return true;
}

}  // namespace indexer::sinks::elasticsearch
