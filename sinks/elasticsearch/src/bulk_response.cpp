#include "indexer/sinks/elasticsearch/bulk_response.hpp"

#include <nlohmann/json.hpp>

#include "indexer/sinks/elasticsearch/index_condition.hpp"

namespace indexer::sinks::elasticsearch {
namespace {

using indexer::sdk::Status;
using nlohmann::json;

constexpr std::size_t kMaxRawText = 300;
// Reading (describe, dump) recurses once per level: a body nested deeper than
// any real answer (a broken proxy, 100 000 brackets) is kept as raw text
// instead of overflowing the stack.
constexpr std::size_t kMaxNesting = 64;

bool nested_too_deep(std::string_view text) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > kMaxNesting) return true;
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return false;
}

std::string clip(std::string_view text) {
    if (text.size() <= kMaxRawText) return std::string(text);
    return std::string(text.substr(0, kMaxRawText)) + "...";
}

std::string string_field(const json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end()) return {};
    return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string describe(const json& error) {
    if (error.is_string()) return error.get<std::string>();
    if (!error.is_object()) return error.dump();
    std::string text = string_field(error, "type");
    const std::string reason = string_field(error, "reason");
    if (!reason.empty()) text += (text.empty() ? "" : ": ") + reason;
    const auto cause = error.find("caused_by");
    if (cause != error.end() && cause->is_object()) {
        const std::string inner = describe(*cause);
        // A cause that only repeats the reason adds nothing.
        if (!inner.empty() && inner != text) text += " (caused by: " + inner + ")";
    }
    return text.empty() ? error.dump() : text;
}

bool is_transient(long status) {
    return status == 408 || status == 429 || status >= 500;
}

// The index-level condition an error object (or one of its causes) names.
std::optional<std::string_view> condition_of(const json& error) {
    const json* level = &error;
    // A wrapped cause is one or two levels down; deeper chains are not worth the walk.
    for (int depth = 0; depth < 4 && level->is_object(); ++depth) {
        const std::string type = string_field(*level, "type");
        if (auto hint = index_condition(type, string_field(*level, "reason"))) return hint;
        const auto cause = level->find("caused_by");
        if (cause == level->end()) break;
        level = &*cause;
    }
    return std::nullopt;
}

// The body as JSON, or discarded when it is not JSON or nested too deep to read safely.
json parse_bounded(std::string_view body) {
    return nested_too_deep(body) ? json(json::value_t::discarded) : json::parse(body, nullptr, false);
}

// The "error" of Elasticsearch's answer to a whole request ({"error": {"type": ...}, "status": 400}),
// or nullptr when the body is not one (a proxy's page, an empty body).
const json* elasticsearch_error(const json& parsed) {
    if (!parsed.is_object()) return nullptr;
    const auto error = parsed.find("error");
    if (error == parsed.end() || !error->is_object()) return nullptr;
    const auto type = error->find("type");
    return type != error->end() && type->is_string() ? &*error : nullptr;
}

OpOutcome map_item(const json& item, const ItemContext& context) {
    // {"index": {...}} or {"delete": {...}}: the action name is not needed.
    if (!item.is_object() || item.size() != 1 || !item.begin()->is_object()) {
        return {Status::Retry, 0, "the bulk response holds a malformed item: " + clip(item.dump())};
    }
    const json& result = *item.begin();
    const auto status_field = result.find("status");
    if (status_field == result.end() || !status_field->is_number_integer()) {
        return {Status::Retry, 0, "the bulk response holds an item without a status: " + clip(result.dump())};
    }
    const long status = status_field->get<long>();
    const int code = static_cast<int>(status);
    const auto error = result.find("error");
    const std::string reason = error == result.end() ? string_field(result, "result") : describe(*error);
    if (status >= 200 && status < 300) return {Status::Ok, code, {}};
    if (status == 404 && context.is_delete) return {Status::Ok, code, {}};
    if (status == 409 && context.external_version) {
        return {Status::Ok, code, "a newer version is already stored (" + reason + ")"};
    }
    const std::string message = "HTTP " + std::to_string(status) + (reason.empty() ? "" : ": " + reason);
    if (is_transient(status)) return {Status::Retry, code, message};
    // Sink-wide: every document would be refused alike, so none is dead-lettered.
    if (error != result.end()) {
        if (const auto hint = condition_of(*error))
            return {Status::Retry, code, message + " (" + std::string(*hint) + ")"};
    }
    return {Status::Reject, code, message};
}

}  // namespace

std::string describe_error(std::string_view error_json) {
    if (nested_too_deep(error_json)) return clip(error_json);
    const json parsed = json::parse(error_json, nullptr, false);
    if (parsed.is_discarded()) return clip(error_json);
    if (parsed.is_object() && parsed.contains("error")) return describe(parsed["error"]);
    return describe(parsed);
}

std::string error_type(std::string_view error_json) {
    const json parsed = parse_bounded(error_json);
    if (const json* error = elasticsearch_error(parsed)) return string_field(*error, "type");
    if (parsed.is_object()) {
        const auto type = parsed.find("type");
        if (type != parsed.end() && type->is_string()) return type->get<std::string>();
    }
    return {};
}

ResponseMapping map_bulk_response(long http_status, std::string_view body, std::span<const ItemContext> ops) {
    ResponseMapping mapping;
    const int code = static_cast<int>(http_status);
    const auto whole = [&](Status status, std::string message) {
        mapping.action = ResponseAction::AllOps;
        mapping.all = OpOutcome{status, code, std::move(message)};
        return mapping;
    };
    const auto reason = [&] { return body.empty() ? std::string{} : ": " + describe_error(body); };

    if (http_status == 400) {
        // A 400 of the whole request splits only when Elasticsearch itself refused the
        // request's text (one op may be malformed). A 400 that is not Elasticsearch's
        // (a proxy, a gateway) or that names the index would refuse every half alike:
        // splitting down to single ops would dead-letter them all.
        const json parsed = parse_bounded(body);
        const json* error = elasticsearch_error(parsed);
        if (error == nullptr) {
            return whole(Status::Retry,
                         "HTTP 400 that is not an Elasticsearch answer (a proxy or gateway in between?)" +
                             (body.empty() ? std::string{} : ": " + clip(body)));
        }
        if (const auto hint = condition_of(*error)) {
            return whole(Status::Retry, "HTTP 400: " + describe(*error) + " (" + std::string(*hint) + ")");
        }
        if (ops.size() > 1) {
            mapping.action = ResponseAction::Split;
            return mapping;
        }
        return whole(Status::Reject, "HTTP 400: " + describe(*error));
    }
    if (http_status == 413) {
        if (ops.size() > 1) {
            mapping.action = ResponseAction::Split;
            return mapping;
        }
        return whole(Status::Reject,
                     "HTTP 413: the server refuses the request as too large even with this op alone");
    }
    if (http_status < 200 || http_status >= 300) {
        std::string hint;
        if (http_status == 401) hint = " (authentication failed: check config.auth)";
        if (http_status == 403) hint = " (the credentials lack the privilege to write)";
        const json parsed = parse_bounded(body);
        // A 403 may be a cluster block rather than a privilege: say which. (401 is authentication.)
        if (const json* error = elasticsearch_error(parsed); error != nullptr && http_status != 401) {
            if (const auto condition = condition_of(*error)) hint = " (" + std::string(*condition) + ")";
        }
        return whole(Status::Retry, "HTTP " + std::to_string(http_status) + hint + reason());
    }
    if (nested_too_deep(body)) {
        return whole(Status::Retry, "the bulk response is nested deeper than " + std::to_string(kMaxNesting) +
                                        " levels: " + clip(body));
    }
    const json parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return whole(Status::Retry, "the bulk response is not a JSON object: " + clip(body));
    }
    const auto items = parsed.find("items");
    if (items == parsed.end() || !items->is_array() || items->size() != ops.size()) {
        const std::size_t got = items != parsed.end() && items->is_array() ? items->size() : 0;
        return whole(Status::Retry, "the bulk response has " + std::to_string(got) + " items for " +
                                        std::to_string(ops.size()) + " ops");
    }
    mapping.action = ResponseAction::PerItem;
    mapping.items.reserve(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) mapping.items.push_back(map_item((*items)[i], ops[i]));
    return mapping;
}

}  // namespace indexer::sinks::elasticsearch
