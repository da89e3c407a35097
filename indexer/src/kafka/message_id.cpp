#include <indexer/kafka/message_id.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

namespace indexer::kafka {
namespace {

using nlohmann::json;

// The words for a JSON value's type in error messages.
std::string describe_type(const json& value) {
    switch (value.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::string:
            return "a string";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::number_float: {
            const double number = value.get<double>();
            // Integers beyond 64 bits reach us as doubles: their digits are gone.
            if (std::isfinite(number) && std::trunc(number) == number && std::fabs(number) >= 9.2e18) {
                return "a number outside the 64-bit integer range (" + value.dump() + ")";
            }
            return "a floating-point number (" + value.dump() + ")";
        }
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return "an integer";
        case json::value_t::binary:
        case json::value_t::discarded:
            break;
    }
    return "an unsupported value";
}

// `what` names the place of the id in messages: `field "id"`, `value`, ...
Result<MessageId> id_from_json(const json& value, const std::string& what) {
    switch (value.type()) {
        case json::value_t::number_integer:
            return MessageId{std::to_string(value.get<std::int64_t>()), IdKind::integer};
        case json::value_t::number_unsigned:
            return MessageId{std::to_string(value.get<std::uint64_t>()), IdKind::integer};
        case json::value_t::string: {
            const auto& text = value.get_ref<const std::string&>();
            if (text.empty()) return Status::error("id is empty (" + what + " is \"\")");
            return MessageId{text, IdKind::string};
        }
        default:
            return Status::error(what + " is " + describe_type(value) + ", expected an integer or a string");
    }
}

bool looks_like_integer(const std::string& text) {
    std::size_t digits_from = text.starts_with('-') ? 1 : 0;
    if (text.size() == digits_from) return false;
    if (text[digits_from] == '0' && text.size() > digits_from + 1) return false;  // JSON has no leading zeros
    return text.find_first_not_of("0123456789", digits_from) == std::string::npos;
}

Result<MessageId> id_from_key(const std::optional<std::string>& key) {
    if (!key) return Status::error("value is empty and the message has no key");
    if (key->empty()) return Status::error("id is empty (value and key are empty)");
    return MessageId{*key, looks_like_integer(*key) ? IdKind::integer : IdKind::string};
}

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

Result<MessageId> id_from_object(const json& object, std::string_view field, bool in_payload) {
    const std::string field_name(field);
    const std::string what = "field " + quoted(field) + (in_payload ? " of \"payload\"" : "");
    if (const auto found = object.find(field_name); found != object.end()) return id_from_json(*found, what);
    if (!in_payload) {
        // KafkaSync's delay wrapper: {"payload": {...}, "created_at": ...}.
        if (const auto payload = object.find("payload"); payload != object.end()) {
            if (payload->is_object()) return id_from_object(*payload, field, true);
            if (payload->is_number() || payload->is_string())
                return id_from_json(*payload, "field \"payload\"");
            return Status::error("field \"payload\" is " + describe_type(*payload) +
                                 ", expected an object with field " + quoted(field) +
                                 ", an integer or a string");
        }
        return Status::error("field " + quoted(field) + " missing");
    }
    return Status::error("field " + quoted(field) + " missing in \"payload\"");
}

}  // namespace

std::string_view to_string(IdKind kind) noexcept {
    return kind == IdKind::integer ? "integer" : "string";
}

Result<MessageId> extract_id(const std::optional<std::string>& key, const std::optional<std::string>& value,
                             std::string_view field) {
    if (!value || value->find_first_not_of(" \t\r\n") == std::string::npos) return id_from_key(key);
    json parsed;
    try {
        parsed = json::parse(*value);
    } catch (const json::parse_error& error) {
        std::string reason = error.what();
        // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
        if (const auto end = reason.find("] ");
            reason.starts_with("[json.exception") && end != std::string::npos) {
            reason.erase(0, end + 2);
        }
        return Status::error("value is not JSON: " + reason);
    }
    switch (parsed.type()) {
        case json::value_t::null:
            return id_from_key(key);
        case json::value_t::object:
            return id_from_object(parsed, field, false);
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::string:
            return id_from_json(parsed, "value");
        default:
            return Status::error("value is " + describe_type(parsed) + ", expected an object with field " +
                                 quoted(field) + ", an integer or a string");
    }
}

}  // namespace indexer::kafka
