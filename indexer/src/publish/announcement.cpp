#include <indexer/publish/announcement.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <system_error>

namespace indexer::publish {
namespace {

using nlohmann::json;

// Written as JSON writes an integer: optional '-', digits, no leading zero
// (except "0" itself), no "-0"; within 64 bits (signed, or unsigned when not
// negative), so that the indexer reads back exactly these digits.
bool is_json_integer(std::string_view text, bool int64_only) {
    const bool negative = text.starts_with('-');
    const std::string_view digits = negative ? text.substr(1) : text;
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) return false;
    if (digits.size() > 1 && digits.front() == '0') return false;
    if (negative && digits == "0") return false;
    const char* end = text.data() + text.size();
    if (negative || int64_only) {
        std::int64_t value = 0;
        const auto [at, error] = std::from_chars(text.data(), end, value);
        return error == std::errc{} && at == end;
    }
    std::uint64_t value = 0;
    const auto [at, error] = std::from_chars(text.data(), end, value);
    return error == std::errc{} && at == end;
}

// The JSON form of a string, or nothing when it is not valid UTF-8.
std::optional<std::string> json_string(std::string_view text) {
    try {
        return json(std::string(text)).dump();
    } catch (const json::type_error&) {
        return std::nullopt;
    }
}

std::string json_id(const kafka::MessageId& id) {
    if (id.kind == kafka::IdKind::integer) return id.text;
    // check_id() accepted it, so it is valid UTF-8; replace rather than throw regardless.
    return json(id.text).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string json_field(std::string_view field) {
    return json(std::string(field)).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Result<kafka::MessageId> id_from_text(std::string_view text) {
    if (text.empty()) return Status::error("id is empty");
    if (is_json_integer(text, true)) return kafka::MessageId{std::string(text), kafka::IdKind::integer};
    kafka::MessageId id{std::string(text), kafka::IdKind::string};
    INDEXER_RETURN_IF_ERROR(check_id(id));
    return id;
}

Status check_id(const kafka::MessageId& id) {
    if (id.text.empty()) return Status::error("id is empty");
    if (id.kind == kafka::IdKind::integer) {
        if (!is_json_integer(id.text, false)) {
            return Status::error("id \"" + id.text + "\" is not an integer within 64 bits");
        }
        return Status::ok();
    }
    if (!json_string(id.text)) return Status::error("id is not valid UTF-8");
    return Status::ok();
}

std::string instant_value(const kafka::MessageId& id, std::string_view id_field) {
    return "{" + json_field(id_field) + ":" + json_id(id) + "}";
}

std::string delay_value(const kafka::MessageId& id, std::string_view id_field, std::int64_t created_at) {
    return "{\"payload\":" + instant_value(id, id_field) + ",\"created_at\":" + std::to_string(created_at) +
           "}";
}

std::string default_delay_topic(std::string_view topic) {
    return std::string(topic) + "-delay";
}

}  // namespace indexer::publish
