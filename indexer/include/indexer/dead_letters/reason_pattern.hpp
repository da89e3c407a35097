// Grouping dead letters by cause: the same cause gives reasons that differ
// only in the values they quote (the id, the offending text, a byte position).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace indexer::dead_letters {

inline constexpr std::size_t max_pattern_bytes = 300;

// `reason` with its value-specific parts masked, so that letters of one cause
// share it:
//  * the id of the engine's sink rejects ("... of id 42: ...") becomes "<id>";
//  * quoted text, '...' and "...", becomes '…' and "…" (a quote that opens
//    after a letter, as in "field's", is an apostrophe and stays);
//  * numbers (a digit run not glued to a letter, with sign, decimals and
//    exponent) become "#", except the status after "HTTP " and "code ";
//  * runs of white space become one space; the result is cut at
//    max_pattern_bytes (on a UTF-8 boundary).
// Field names in brackets ("field [price] of type [integer]"), exception
// types and the rest of the wording stay, so that two causes stay apart.
std::string reason_pattern(std::string_view reason);

}  // namespace indexer::dead_letters
