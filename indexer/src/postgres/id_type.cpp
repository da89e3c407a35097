#include <indexer/postgres/id_type.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <limits>

namespace indexer::postgres {
namespace {

// Type OIDs fixed by PostgreSQL's catalog (pg_type.dat).
constexpr std::uint32_t kInt2Oid = 21;
constexpr std::uint32_t kInt4Oid = 23;
constexpr std::uint32_t kInt8Oid = 20;
constexpr std::uint32_t kTextOid = 25;
constexpr std::uint32_t kVarcharOid = 1043;
constexpr std::uint32_t kUuidOid = 2950;

// Ids end up in error messages and dead-letter headers: keep them short there,
// cut at a character boundary (only called for valid UTF-8).
std::string quoted_for_message(std::string_view id) {
    constexpr std::size_t kLimit = 80;
    if (id.size() <= kLimit) {
        return fmt::format("\"{}\"", id);
    }
    std::size_t cut = kLimit;
    while (cut > 0 && (static_cast<unsigned char>(id[cut]) & 0xC0U) == 0x80U) {
        --cut;
    }
    return fmt::format("\"{}...\" ({} bytes)", id.substr(0, cut), id.size());
}

// PostgreSQL's UTF-8 rules: shortest form only, no surrogates, at most U+10FFFF.
bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        if (lead < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code = 0;
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
            code = lead & 0x1FU;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            code = lead & 0x0FU;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            code = lead & 0x07U;
        } else {
            return false;
        }
        if (i + length > text.size()) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0U) != 0x80U) {
                return false;
            }
            code = (code << 6U) | (next & 0x3FU);
        }
        if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) || code > 0x10FFFF ||
            (code >= 0xD800 && code <= 0xDFFF)) {
            return false;
        }
        i += length;
    }
    return true;
}

// isspace() in the C locale, which is what PostgreSQL's integer input skips.
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

Result<std::string> canonical_integer(IdKind kind, std::string_view id) {
    std::int64_t min = std::numeric_limits<std::int64_t>::min();
    std::int64_t max = std::numeric_limits<std::int64_t>::max();
    if (kind == IdKind::smallint) {
        min = std::numeric_limits<std::int16_t>::min();
        max = std::numeric_limits<std::int16_t>::max();
    } else if (kind == IdKind::integer) {
        min = std::numeric_limits<std::int32_t>::min();
        max = std::numeric_limits<std::int32_t>::max();
    }
    const auto invalid = [&] {
        return Status::error(fmt::format("{} is not a valid {}", quoted_for_message(id), to_string(kind)));
    };

    std::size_t begin = 0;
    std::size_t end = id.size();
    while (begin < end && is_space(id[begin])) {
        ++begin;
    }
    while (end > begin && is_space(id[end - 1])) {
        --end;
    }
    bool negative = false;
    if (begin < end && (id[begin] == '+' || id[begin] == '-')) {
        negative = id[begin] == '-';
        ++begin;
    }
    if (begin == end) {
        return invalid();
    }

    // The magnitude of the most negative value does not fit a positive int64.
    const std::uint64_t limit =
        negative ? static_cast<std::uint64_t>(-(min + 1)) + 1U : static_cast<std::uint64_t>(max);
    std::uint64_t magnitude = 0;
    bool out_of_range = false;
    for (std::size_t i = begin; i < end; ++i) {
        const char c = id[i];
        if (c < '0' || c > '9') {
            return invalid();
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (magnitude > (limit - digit) / 10U) {
            out_of_range = true;
        }
        if (!out_of_range) {
            magnitude = magnitude * 10U + digit;
        }
    }
    if (out_of_range) {
        return Status::error(
            fmt::format("{} is out of range for type {}", quoted_for_message(id), to_string(kind)));
    }
    if (magnitude == 0) {
        return std::string{"0"};
    }
    return negative ? "-" + std::to_string(magnitude) : std::to_string(magnitude);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Mirrors PostgreSQL's string_to_uuid(): optional braces, two hex digits per
// byte, an optional hyphen after every second byte except the last.
Result<std::string> canonical_uuid(std::string_view id) {
    const auto invalid = [&] {
        return Status::error(fmt::format("{} is not a valid uuid", quoted_for_message(id)));
    };
    constexpr std::size_t kBytes = 16;
    std::size_t pos = 0;
    const bool braces = !id.empty() && id[0] == '{';
    if (braces) {
        ++pos;
    }
    std::string hex;
    hex.reserve(2 * kBytes);
    for (std::size_t byte = 0; byte < kBytes; ++byte) {
        if (pos + 2 > id.size() || hex_value(id[pos]) < 0 || hex_value(id[pos + 1]) < 0) {
            return invalid();
        }
        for (std::size_t k = 0; k < 2; ++k) {
            hex += "0123456789abcdef"[hex_value(id[pos + k])];
        }
        pos += 2;
        if (pos < id.size() && id[pos] == '-' && byte % 2 == 1 && byte < kBytes - 1) {
            ++pos;
        }
    }
    if (braces) {
        if (pos >= id.size() || id[pos] != '}') {
            return invalid();
        }
        ++pos;
    }
    if (pos != id.size()) {
        return invalid();
    }
    return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                       hex.substr(16, 4), hex.substr(20));
}

}  // namespace

IdKind id_kind_from_type_oid(std::uint32_t oid) noexcept {
    switch (oid) {
        case kInt2Oid:
            return IdKind::smallint;
        case kInt4Oid:
            return IdKind::integer;
        case kInt8Oid:
            return IdKind::bigint;
        case kUuidOid:
            return IdKind::uuid;
        case kTextOid:
        case kVarcharOid:
            return IdKind::text;
        default:
            return IdKind::other;
    }
}

std::string_view to_string(IdKind kind) noexcept {
    switch (kind) {
        case IdKind::smallint:
            return "smallint";
        case IdKind::integer:
            return "integer";
        case IdKind::bigint:
            return "bigint";
        case IdKind::uuid:
            return "uuid";
        case IdKind::text:
            return "text";
        case IdKind::other:
            return "other";
    }
    return "other";
}

Result<std::string> canonical_id(IdKind kind, std::string_view id) {
    if (id.find('\0') != std::string_view::npos) {
        return Status::error("the id contains a NUL byte, which PostgreSQL text cannot hold");
    }
    if (!is_valid_utf8(id)) {
        return Status::error("the id is not valid UTF-8");
    }
    switch (kind) {
        case IdKind::smallint:
        case IdKind::integer:
        case IdKind::bigint:
            return canonical_integer(kind, id);
        case IdKind::uuid:
            return canonical_uuid(id);
        case IdKind::text:
        case IdKind::other:
            return std::string{id};
    }
    return std::string{id};
}

}  // namespace indexer::postgres
