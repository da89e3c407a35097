// Turns an op's id into the memcached key: prefix + key template, with keys
// that memcached cannot store (too long, forbidden bytes) or that hold the
// hashed-key marker replaced by a readable head plus the marker and the
// SHA-256 of the templated key. See README.md, "Keys".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::memcached_sink {

// memcached's KEY_MAX_LENGTH.
inline constexpr std::size_t kMaxKeyBytes = 250;
// What replaces the templated key when it cannot be used as is: "#sha256:" + 64
// hex digits. A key that holds the marker anywhere is never used as is.
inline constexpr std::string_view kHashedKeyMarker = "#sha256:";
inline constexpr std::size_t kHashedKeySuffixBytes = 8 + 64;

// Bytes the text protocol cannot carry in a key: space, control characters
// and DEL. Bytes >= 0x80 (UTF-8) are allowed; memcached stores them as is.
constexpr bool is_forbidden_key_byte(unsigned char byte) noexcept {
    return byte <= 0x20 || byte == 0x7f;
}

// Why `key` cannot be sent to memcached as is, or nothing when it can.
std::optional<std::string> key_problem(std::string_view key);

// A parsed key template: literal text and {id} placeholders. `{{` and `}}`
// stand for literal braces.
class KeyTemplate {
public:
    // Throws std::invalid_argument with a reason (no key path) when the text
    // is not a usable template.
    static KeyTemplate parse(std::string_view text);

    std::string expand(std::string_view id) const;
    // The id that expands to `templated`, or nothing when no id does.
    std::optional<std::string> id_of(std::string_view templated) const;
    // The literal text before the first {id}: the readable part kept in hashed keys.
    const std::string& head() const noexcept { return head_; }

private:
    struct Piece {
        bool is_id;
        std::string literal;
    };
    std::vector<Piece> pieces_;
    std::string head_;
};

struct BuiltKey {
    std::string key;                  // what is sent to memcached
    std::size_t distribution_offset;  // key.substr(offset) picks the server
    bool hashed;                      // the SHA-256 form was used
};

class KeyBuilder {
public:
    // `prefix` must already be valid (config validation checks it).
    KeyBuilder(std::string prefix, KeyTemplate key_template, bool hash_with_prefix);

    // The key of `id`; `target`, when not empty, replaces the prefix. Returns
    // nothing and sets `error` when no key can be built (empty id, unusable target).
    std::optional<BuiltKey> build(std::string_view id, std::string_view target, std::string& error) const;

    // Where a key found on a server (a listing) comes from.
    struct KeyOrigin {
        enum class Kind {
            Foreign,  // not a key this builder makes (another prefix, another template)
            Hashed,   // made from an id that the key no longer holds (the SHA-256 form)
            Id,       // the key of `id`
        };
        Kind kind = Kind::Foreign;
        std::string id;
    };
    // Under `target` as the prefix when not empty (as build() takes it),
    // under the configured prefix otherwise.
    KeyOrigin origin_of(std::string_view key, std::string_view target = {}) const;

    // The longest prefix (plus template head) for which a hashed key still fits.
    static constexpr std::size_t max_readable_bytes() noexcept {
        return kMaxKeyBytes - kHashedKeySuffixBytes;
    }

private:
    std::string prefix_;
    KeyTemplate template_;
    bool hash_with_prefix_;
};

}  // namespace indexer::memcached_sink
