// A validating, non-recursive scan of one JSON text that reports the members of
// a top-level object as slices of the input, without building a tree.
//
// Why not the JSON library here: message values come from anyone. A scan never
// throws, uses no recursion (nesting costs one byte of a heap stack per level,
// so 100 000 levels are fine), keeps numbers as the text they were written in
// (integers of any length stay exact, 1e400 is not an error) and gives the raw
// bytes of a member's value, so that a value can be passed on unchanged.
//
// Validation is RFC 8259: strings must be valid UTF-8 with escapes that decode
// (paired surrogates) and no raw control characters; nothing but whitespace
// may follow the value. Errors say what was wrong and at which byte, and never
// echo the input.
#pragma once

#include <indexer/util/status.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::json {

enum class Kind { null, boolean, number, string, array, object };

// "null", "a boolean", "a number", "a string", "an array", "an object".
std::string_view describe(Kind kind) noexcept;

struct Value {
    Kind kind = Kind::null;
    // The value's bytes exactly as in the input; a string keeps its quotes and
    // escapes (decode with decode_string).
    std::string_view raw;
    // A number written without fraction and exponent ("-12", "123456789012345678901234").
    bool integer = false;
};

struct Member {
    std::string name;  // decoded
    Value value;
};

struct Scan {
    Value root;
    // The members of the root when it is an object, in input order (duplicates kept).
    std::vector<Member> members;

    // The last member of that name (as JavaScript's JSON.parse keeps), or nullptr.
    const Value* find(std::string_view name) const noexcept;
};

Result<Scan> scan(std::string_view text);

// The text of a string value as scan() reported it (quotes included), escapes
// decoded to UTF-8 ("\u0000" gives a NUL byte). Only for values from scan().
std::string decode_string(std::string_view raw);

}  // namespace indexer::json
