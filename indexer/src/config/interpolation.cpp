#include <indexer/config/interpolation.hpp>

#include <fmt/format.h>

#include <cstdlib>

namespace indexer::config {
namespace {

bool is_name_start(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9');
}

}  // namespace

EnvironmentLookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read at start-up
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

bool has_interpolation(std::string_view text) {
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        if (text[i] != '$') continue;
        if (text[i + 1] == '{') return true;
        if (text[i + 1] == '$' && i + 2 < text.size() && text[i + 2] == '{') return true;
    }
    return false;
}

Result<std::string> interpolate(std::string_view text, const EnvironmentLookup& environment) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text.substr(i, 3) == "$${") {
            out += "${";
            i += 3;
            continue;
        }
        if (text.substr(i, 2) != "${") {
            out += text[i++];
            continue;
        }
        const std::size_t close = text.find('}', i + 2);
        if (close == std::string_view::npos) {
            return Status::error(
                "unterminated \"${\" (no closing \"}\"); write \"$${\" for a literal \"${\"");
        }
        const std::string_view body = text.substr(i + 2, close - i - 2);
        std::size_t name_end = 0;
        while (name_end < body.size() && is_name_char(body[name_end])) ++name_end;
        const std::string name(body.substr(0, name_end));
        const std::string_view rest = body.substr(name_end);
        if (name.empty() || !is_name_start(name[0])) {
            return Status::error("\"${" + std::string(body) +
                                 "}\" does not start with a variable name ([A-Za-z_][A-Za-z0-9_]*)");
        }
        std::optional<std::string_view> fallback;
        if (rest.substr(0, 2) == ":-") {
            fallback = rest.substr(2);
        } else if (!rest.empty()) {
            return Status::error("unsupported form \"${" + std::string(body) +
                                 "}\": write ${NAME} or ${NAME:-default}");
        }
        if (fallback && fallback->find("${") != std::string_view::npos) {
            return Status::error("\"${" + std::string(body) + "}\": a default cannot contain another ${...}");
        }
        const std::optional<std::string> value = environment(name);
        if (value && (!value->empty() || !fallback)) {
            out += *value;
        } else if (fallback) {
            out += *fallback;
        } else {
            return Status::error(
                fmt::format("environment variable {0} is not set and ${{{0}}} has no default (write "
                            "${{{0}:-default}} to give one)",
                            name));
        }
        i = close + 1;
    }
    return out;
}

}  // namespace indexer::config
