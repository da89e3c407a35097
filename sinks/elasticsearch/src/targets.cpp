#include "indexer/sinks/elasticsearch/targets.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "indexer/sinks/elasticsearch/bulk_request.hpp"
#include "indexer/sinks/elasticsearch/bulk_response.hpp"

namespace indexer::sinks::elasticsearch {
namespace {

using indexer::sdk::Status;
using nlohmann::json;

constexpr std::size_t kMaxNameBytes = 255;
constexpr std::size_t kMaxQuoted = 300;

// A server's answer can be anything: quote at most a little of it.
std::string clip(std::string_view text) {
    if (text.size() <= kMaxQuoted) return std::string(text);
    return std::string(text.substr(0, kMaxQuoted)) + "...";
}

bool is_transient(long status) {
    return status == 408 || status == 429 || status >= 500;
}

std::string reason_of(long status, std::string_view body) {
    return "HTTP " + std::to_string(status) + (body.empty() ? std::string{} : ": " + describe_error(body));
}

std::string escape_segment(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 0x0F]);
        }
    }
    return out;
}

}  // namespace

std::optional<std::string> index_name_problem(std::string_view name) {
    if (name.empty()) return "the name is empty";
    if (name.size() > kMaxNameBytes)
        return "the name is " + std::to_string(name.size()) + " bytes long, more than 255";
    std::string scratch;
    if (!append_json_string(scratch, name)) return "the name is not valid UTF-8";
    if (name == "." || name == "..") return "the name is \"" + std::string(name) + "\"";
    if (name.front() == '-' || name.front() == '_' || name.front() == '+')
        return "the name starts with '" + std::string(1, name.front()) + "'";
    for (const char c : name) {
        if (c >= 'A' && c <= 'Z') return "the name has upper-case letters (index names are lower case)";
        if (std::string_view("\\/*?\"<>|,#: ").find(c) != std::string_view::npos)
            return "the name holds '" + std::string(1, c) + "', which no index name may hold";
        if (static_cast<unsigned char>(c) < 0x20) return "the name holds a control character";
    }
    return std::nullopt;
}

NameState map_name_state(long http_status, std::string_view body, std::string_view name) {
    NameState state;
    const json parsed = json::parse(body, nullptr, false);
    if (http_status == 404) {
        if (error_type(body) == "index_not_found_exception") {
            state.kind = NameState::Kind::Absent;
            return state;
        }
        state.failure = reason_of(http_status, body);
        state.retry = false;
        return state;
    }
    if (http_status != 200) {
        state.failure = reason_of(http_status, body);
        state.retry = is_transient(http_status);
        return state;
    }
    if (!parsed.is_object() || parsed.empty()) {
        state.failure = "HTTP 200 that is not an answer about aliases: " + clip(body);
        return state;
    }
    const std::string wanted(name);
    std::vector<std::string> indices;
    bool concrete = false;
    for (const auto& [index, entry] : parsed.items()) {
        if (index == wanted) {
            concrete = true;
            continue;
        }
        // Each index behind the alias must say so; anything else is not the
        // answer we asked for, and acting on it could remove the wrong alias.
        const bool lists_alias = entry.is_object() && entry.contains("aliases") &&
                                 entry["aliases"].is_object() && entry["aliases"].contains(wanted);
        if (!lists_alias) {
            state.failure = "HTTP 200 naming index \"" + clip(index) + "\" without the alias \"" + wanted +
                            "\": not an answer about that name";
            return state;
        }
        indices.push_back(index);
    }
    if (concrete && !indices.empty()) {
        state.failure = "HTTP 200 naming \"" + wanted + "\" both as an index and as an alias of others";
        return state;
    }
    std::sort(indices.begin(), indices.end());
    if (concrete) {
        state.kind = NameState::Kind::Index;
        state.indices = {wanted};
    } else {
        state.kind = NameState::Kind::Alias;
        state.indices = std::move(indices);
    }
    return state;
}

std::string switch_actions(std::string_view alias, std::string_view target,
                           const std::vector<std::string>& previous, bool replace_index) {
    json actions = json::array();
    if (!previous.empty() && !replace_index) {
        actions.push_back({{"remove", {{"indices", previous}, {"alias", std::string(alias)}}}});
    }
    actions.push_back({{"add", {{"index", std::string(target)}, {"alias", std::string(alias)}}}});
    if (replace_index) actions.push_back({{"remove_index", {{"index", std::string(alias)}}}});
    return json{{"actions", std::move(actions)}}.dump();
}

TargetOutcome map_create_response(long http_status, std::string_view body, std::string_view index) {
    const int code = static_cast<int>(http_status);
    if (http_status >= 200 && http_status < 300) return {Status::Ok, code, {}};
    const std::string type = error_type(body);
    if (type == "resource_already_exists_exception" ||
        (type == "invalid_index_name_exception" &&
         describe_error(body).find("already exists") != std::string::npos)) {
        return {Status::Reject, code,
                "index \"" + std::string(index) + "\" already exists (" + reason_of(http_status, body) +
                    "); reindex with another suffix, or delete that index if nothing uses it"};
    }
    if (is_transient(http_status)) return {Status::Retry, code, reason_of(http_status, body)};
    return {Status::Reject, code, reason_of(http_status, body)};
}

TargetOutcome map_aliases_response(long http_status, std::string_view body, std::string_view target) {
    const int code = static_cast<int>(http_status);
    if (http_status >= 200 && http_status < 300) {
        const json parsed = json::parse(body, nullptr, false);
        const bool acknowledged = parsed.is_object() && parsed.contains("acknowledged") &&
                                  parsed["acknowledged"].is_boolean() && parsed["acknowledged"].get<bool>();
        if (acknowledged) return {Status::Ok, code, {}};
        return {Status::Retry, code,
                "HTTP " + std::to_string(http_status) +
                    " without \"acknowledged\": true (the cluster did not confirm the change in time; "
                    "asking again is safe): " +
                    clip(body)};
    }
    if (http_status == 404 && error_type(body) == "index_not_found_exception") {
        return {Status::Reject, code,
                "index \"" + std::string(target) + "\" does not exist (" + reason_of(http_status, body) +
                    "): switch to a target that create_target made"};
    }
    if (is_transient(http_status)) return {Status::Retry, code, reason_of(http_status, body)};
    return {Status::Reject, code, reason_of(http_status, body)};
}

std::string index_list_path(const std::vector<std::string>& indices) {
    std::string out;
    for (const auto& index : indices) {
        if (!out.empty()) out.push_back(',');
        out += escape_segment(index);
    }
    return out;
}

}  // namespace indexer::sinks::elasticsearch
