#include "indexer/sinks/memcached/key_builder.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "indexer/sinks/memcached/sha256.hpp"

namespace indexer::memcached_sink {
namespace {

std::string describe_byte(unsigned char byte) {
    switch (byte) {
        case ' ':
            return "a space";
        case '\t':
            return "a tab";
        case '\r':
            return "a carriage return";
        case '\n':
            return "a newline";
        case '\0':
            return "a NUL byte";
        default: {
            char text[32];
            std::snprintf(text, sizeof text, "control byte 0x%02x", byte);
            return text;
        }
    }
}

}  // namespace

std::optional<std::string> key_problem(std::string_view key) {
    if (key.empty()) return std::string("is empty");
    if (key.size() > kMaxKeyBytes) {
        return "is " + std::to_string(key.size()) + " bytes, memcached allows " +
               std::to_string(kMaxKeyBytes);
    }
    for (std::size_t i = 0; i < key.size(); ++i) {
        const auto byte = static_cast<unsigned char>(key[i]);
        if (is_forbidden_key_byte(byte)) {
            return "contains " + describe_byte(byte) + " at byte " + std::to_string(i);
        }
    }
    return std::nullopt;
}

KeyTemplate KeyTemplate::parse(std::string_view text) {
    KeyTemplate result;
    std::string literal;
    bool seen_id = false;
    auto flush_literal = [&] {
        if (!literal.empty()) result.pieces_.push_back(Piece{false, std::move(literal)});
        literal.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            literal.push_back('{');
            ++i;
        } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
            literal.push_back('}');
            ++i;
        } else if (c == '{') {
            const std::size_t close = text.find('}', i);
            if (close == std::string_view::npos) {
                throw std::invalid_argument("unclosed '{' at byte " + std::to_string(i) +
                                            " (write {{ for a brace)");
            }
            const std::string_view name = text.substr(i + 1, close - i - 1);
            if (name != "id") {
                throw std::invalid_argument("unknown placeholder {" + std::string(name) +
                                            "}; the only placeholder is {id}");
            }
            if (!seen_id) result.head_ = literal;
            flush_literal();
            result.pieces_.push_back(Piece{true, {}});
            seen_id = true;
            i = close;
        } else if (c == '}') {
            throw std::invalid_argument("unmatched '}' at byte " + std::to_string(i) +
                                        " (write }} for a brace)");
        } else {
            if (is_forbidden_key_byte(static_cast<unsigned char>(c))) {
                throw std::invalid_argument("contains " + describe_byte(static_cast<unsigned char>(c)) +
                                            ", which memcached keys cannot hold");
            }
            literal.push_back(c);
        }
    }
    flush_literal();
    if (!seen_id)
        throw std::invalid_argument("needs an {id} placeholder, otherwise every document shares one key");
    return result;
}

std::string KeyTemplate::expand(std::string_view id) const {
    std::string key;
    std::size_t size = 0;
    for (const Piece& piece : pieces_) size += piece.is_id ? id.size() : piece.literal.size();
    key.reserve(size);
    for (const Piece& piece : pieces_) {
        if (piece.is_id) {
            key.append(id);
        } else {
            key.append(piece.literal);
        }
    }
    return key;
}

std::optional<std::string> KeyTemplate::id_of(std::string_view templated) const {
    std::size_t literal_bytes = 0;
    std::size_t placeholders = 0;
    for (const Piece& piece : pieces_) {
        if (piece.is_id) {
            ++placeholders;
        } else {
            literal_bytes += piece.literal.size();
        }
    }
    // Every placeholder holds the same id, so its length follows from the key's.
    if (placeholders == 0 || templated.size() <= literal_bytes ||
        (templated.size() - literal_bytes) % placeholders != 0) {
        return std::nullopt;
    }
    const std::size_t id_bytes = (templated.size() - literal_bytes) / placeholders;
    std::size_t position = 0;
    for (const Piece& piece : pieces_) {
        if (piece.is_id) break;
        position += piece.literal.size();
    }
    std::string id(templated.substr(position, id_bytes));
    if (expand(id) != templated) return std::nullopt;
    return id;
}

KeyBuilder::KeyBuilder(std::string prefix, KeyTemplate key_template, bool hash_with_prefix)
    : prefix_(std::move(prefix)), template_(std::move(key_template)), hash_with_prefix_(hash_with_prefix) {}

std::optional<BuiltKey> KeyBuilder::build(std::string_view id, std::string_view target,
                                          std::string& error) const {
    if (id.empty()) {
        error = "empty id";
        return std::nullopt;
    }
    const std::string_view prefix = target.empty() ? std::string_view{prefix_} : target;
    if (!target.empty()) {
        for (const char c : target) {
            if (is_forbidden_key_byte(static_cast<unsigned char>(c))) {
                error = "target \"" + std::string(target) + "\" cannot prefix memcached keys: it contains " +
                        describe_byte(static_cast<unsigned char>(c));
                return std::nullopt;
            }
        }
        if (target.size() + template_.head().size() > max_readable_bytes()) {
            error = "target \"" + std::string(target) + "\" is too long to prefix memcached keys (at most " +
                    std::to_string(max_readable_bytes() - template_.head().size()) + " bytes)";
            return std::nullopt;
        }
    }

    const std::string templated = template_.expand(id);
    BuiltKey built{std::string(prefix) + templated, hash_with_prefix_ ? 0 : prefix.size(), false};
    // Every hashed key holds the marker and no literal key does, so no id can
    // take the key of another id whose key was hashed.
    if (!key_problem(built.key) && built.key.find(kHashedKeyMarker) == std::string::npos) return built;

    // Deterministic, so a reader can compute the same key (see README.md).
    built.key.resize(prefix.size());
    built.key.append(template_.head());
    built.key.append(kHashedKeyMarker);
    built.key.append(sha256_hex(templated));
    built.hashed = true;
    return built;
}

KeyBuilder::KeyOrigin KeyBuilder::origin_of(std::string_view key, std::string_view target) const {
    using Kind = KeyOrigin::Kind;
    const std::string_view prefix = target.empty() ? std::string_view(prefix_) : target;
    if (key.substr(0, prefix.size()) != prefix) return {};
    const std::string_view templated = key.substr(prefix.size());
    const std::string_view head = template_.head();
    const std::string_view hashed = templated.substr(std::min(head.size(), templated.size()));
    if (templated.substr(0, head.size()) == head && hashed.size() == kHashedKeySuffixBytes &&
        hashed.substr(0, kHashedKeyMarker.size()) == kHashedKeyMarker &&
        hashed.find_first_not_of("0123456789abcdef", kHashedKeyMarker.size()) == std::string_view::npos) {
        return {Kind::Hashed, {}};
    }
    std::optional<std::string> id = template_.id_of(templated);
    if (!id) return {};
    // Only a key that the id really gets is the id's (not one it would have
    // had, had it not been hashed).
    std::string error;
    const std::optional<BuiltKey> built = build(*id, target, error);
    if (!built || built->hashed || built->key != key) return {};
    return {Kind::Id, std::move(*id)};
}

}  // namespace indexer::memcached_sink
