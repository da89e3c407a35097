#include <indexer/kafka/message_id.hpp>

#include <indexer/util/json_scan.hpp>
#include <indexer/util/text.hpp>

#include <string>

namespace indexer::kafka {
namespace {

std::string quoted(std::string_view text) {
    // Appended, not concatenated: GCC 12 at -O3 warns (-Wrestrict) on "\"" + string.
    std::string result(1, '"');
    result += excerpt(text, 100);
    result += '"';
    return result;
}

// The words for a JSON value in error messages.
std::string describe(const json::Value& value) {
    if (value.kind == json::Kind::number) {
        return "a number that is not an integer (" + excerpt(value.raw, 40) + ")";
    }
    return std::string(json::describe(value.kind));
}

Status too_long(std::size_t size) {
    return Status::error("id is " + std::to_string(size) + " bytes long, more than the " +
                         std::to_string(max_id_bytes) + " accepted");
}

// Where an id was read, for error messages only (built when one is needed).
struct Place {
    std::string_view field;  // empty: the whole value
    bool in_payload = false;

    std::string describe() const {
        if (field.empty()) return in_payload ? "field \"payload\"" : "value";
        return "field " + quoted(field) + (in_payload ? " of \"payload\"" : "");
    }
};

Result<MessageId> id_from_value(const json::Value& value, const Place& place) {
    if (value.kind == json::Kind::number && value.integer) {
        if (value.raw.size() > max_id_bytes) return too_long(value.raw.size());
        if (value.raw == "-0") return MessageId{"0", IdKind::integer};
        return MessageId{std::string(value.raw), IdKind::integer};
    }
    if (value.kind == json::Kind::string) {
        if (value.raw.size() == 2) return Status::error("id is empty (" + place.describe() + " is \"\")");
        // Escapes only shrink a string: the raw size bounds the decoded one.
        std::string text = json::decode_string(value.raw);
        if (text.size() > max_id_bytes) return too_long(text.size());
        return MessageId{std::move(text), IdKind::string};
    }
    return Status::error(place.describe() + " is " + describe(value) + ", expected an integer or a string");
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
    if (key->size() > max_id_bytes) return too_long(key->size());
    return MessageId{*key, looks_like_integer(*key) ? IdKind::integer : IdKind::string};
}

Result<MessageId> id_from_object(const json::Scan& object, std::string_view field, bool in_payload) {
    if (const json::Value* found = object.find(field)) return id_from_value(*found, Place{field, in_payload});
    if (in_payload) return Status::error("field " + quoted(field) + " missing in \"payload\"");
    // KafkaSync's delay wrapper: {"payload": {...}, "created_at": ...}.
    const json::Value* payload = object.find("payload");
    if (payload == nullptr) return Status::error("field " + quoted(field) + " missing");
    if (payload->kind == json::Kind::object) {
        auto inner = json::scan(payload->raw);  // valid: part of a valid text
        if (!inner) return inner.status();
        return id_from_object(inner.value(), field, true);
    }
    if (payload->kind == json::Kind::string || (payload->kind == json::Kind::number && payload->integer)) {
        return id_from_value(*payload, Place{{}, true});
    }
    return Status::error("field \"payload\" is " + describe(*payload) + ", expected an object with field " +
                         quoted(field) + ", an integer or a string");
}

}  // namespace

std::string_view to_string(IdKind kind) noexcept {
    return kind == IdKind::integer ? "integer" : "string";
}

Result<MessageId> extract_id(const std::optional<std::string>& key, const std::optional<std::string>& value,
                             std::string_view field) {
    if (!value || value->find_first_not_of(" \t\r\n") == std::string::npos) return id_from_key(key);
    auto parsed = json::scan(*value);
    if (!parsed) return Status::error("value is not JSON: " + parsed.error());
    const json::Value& root = parsed.value().root;
    switch (root.kind) {
        case json::Kind::null:
            return id_from_key(key);
        case json::Kind::object:
            return id_from_object(parsed.value(), field, false);
        case json::Kind::string:
            return id_from_value(root, Place{});
        case json::Kind::number:
            if (root.integer) return id_from_value(root, Place{});
            break;
        default:
            break;
    }
    return Status::error("value is " + describe(root) + ", expected an object with field " + quoted(field) +
                         ", an integer or a string");
}

}  // namespace indexer::kafka
