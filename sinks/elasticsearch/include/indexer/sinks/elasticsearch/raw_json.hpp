// Reads a JSON text as slices of the input, one value at a time, without
// building a tree: the way to hand back a stored document (`_source`) byte
// for byte, numbers and key order as the server keeps them, instead of a
// re-encoding of it.
//
// Non-recursive (nesting costs one byte per level), never throws, and checks
// what it skips: brackets that match, strings that end and hold no raw
// control characters, escapes that are JSON's, literals and numbers that are
// well formed. Member names are compared as written (between the quotes, not
// unescaped): the server's field names need no escapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace indexer::sinks::elasticsearch {

class RawJsonReader {
public:
    explicit RawJsonReader(std::string_view text) noexcept : text_(text) {}

    // Consumes '{' (or '['); false (and an error) when the next value is not one.
    bool enter_object();
    bool enter_array();
    // Inside an object: consumes the next member's name and its ':' and sets
    // `name` to its raw text; false at the end of the object (its '}' is
    // consumed) or on an error.
    bool next_member(std::string_view& name);
    // Inside an array: true when another element follows (its ',' consumed);
    // false at the end (']' consumed) or on an error.
    bool next_element();
    // Consumes one whole value and returns its bytes; empty on an error.
    std::string_view value();
    // True when nothing but whitespace is left.
    bool at_end();

    // The deepest nesting value() went through so far (1 for "[]").
    std::size_t deepest() const noexcept { return deepest_; }

    bool failed() const noexcept { return !error_.empty(); }
    // What was wrong and at which byte; never echoes the input.
    const std::string& error() const noexcept { return error_; }

private:
    void skip_space() noexcept;
    bool fail(std::string_view what);
    bool enter(char open, char mark);
    // Before the next item of the container on top of open_ (mark 'o' or
    // 'a'): true when one follows (a ',' consumed after the first).
    bool next_item(char mark, char close);
    bool skip_string();  // at the opening quote; leaves pos_ past the closing one
    bool skip_scalar();  // a number or a literal

    std::string_view text_;
    std::size_t pos_ = 0;
    // Whether the container being read has had an element yet, per level.
    std::string open_;  // 'o'/'a' when empty so far, 'O'/'A' after the first element
    std::string error_;
    std::size_t deepest_ = 0;
};

// "true" / "false" as a bool; nothing for any other value.
std::optional<bool> raw_bool(std::string_view value) noexcept;
// A non-negative integer below 2^64 written without sign, fraction or
// exponent; nothing otherwise.
std::optional<std::uint64_t> raw_unsigned(std::string_view value) noexcept;

}  // namespace indexer::sinks::elasticsearch
