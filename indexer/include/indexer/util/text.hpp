// Text helpers for messages built from untrusted input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace indexer {

// `text` if it has at most `limit` bytes, else its first bytes up to `limit`,
// cut on a UTF-8 character boundary, followed by "... (truncated from N bytes)".
// Error messages and headers quote input through it, so that a huge token is
// never echoed whole.
std::string excerpt(std::string_view text, std::size_t limit);

}  // namespace indexer
