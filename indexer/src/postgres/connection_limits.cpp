#include <indexer/postgres/connection_limits.hpp>

#include <libpq-fe.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

namespace indexer::postgres {
namespace {

// libpq's key=value quoting: single quotes, backslash before ' and \.
std::string libpq_quoted(std::string_view value) {
    std::string out = "'";
    for (const char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

}  // namespace

ConnectionLimits connection_limits(const config::PostgresConfig& postgres) {
    return ConnectionLimits{
        std::chrono::duration_cast<std::chrono::milliseconds>(postgres.connect_timeout),
        std::chrono::duration_cast<std::chrono::milliseconds>(postgres.statement_timeout)};
}

std::string limited_connection_string(std::string_view url, const ConnectionLimits& limits) {
    char* error = nullptr;
    const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> parsed(
        PQconninfoParse(std::string(url).c_str(), &error), &PQconninfoFree);
    // libpq's message may quote the string, password included; connecting
    // reports the same problem through the redacted error path.
    PQfreemem(error);
    if (!parsed) return std::string(url);

    std::map<std::string, std::string> settings;
    for (const PQconninfoOption* option = parsed.get(); option->keyword != nullptr; ++option) {
        if (option->val != nullptr) settings.emplace(option->keyword, option->val);
    }
    const auto seconds_up = [](std::chrono::milliseconds duration) {
        return (duration.count() + 999) / 1000;
    };
    // Where the user set a value, it stays (try_emplace).
    settings.try_emplace("connect_timeout",
                         std::to_string(std::max<long long>(2, seconds_up(limits.connect_timeout))));
    settings.try_emplace("keepalives", "1");
    settings.try_emplace("keepalives_idle", "30");
    settings.try_emplace("keepalives_interval", "10");
    settings.try_emplace("keepalives_count", "3");
    settings.try_emplace("tcp_user_timeout", "60000");
    std::string& options = settings["options"];
    if (options.find("statement_timeout") == std::string::npos) {
        options += fmt::format("{}-c statement_timeout={}", options.empty() ? "" : " ",
                               limits.statement_timeout.count());
    }

    std::string out;
    for (const auto& [key, value] : settings) {
        if (!out.empty()) out += ' ';
        out += key + "=" + libpq_quoted(value);
    }
    return out;
}

}  // namespace indexer::postgres
