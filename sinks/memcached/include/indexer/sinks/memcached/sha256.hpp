// SHA-256 (FIPS 180-4), used to turn keys memcached cannot store into
// fixed-length ones. Not for secrets: no constant-time guarantees.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace indexer::memcached_sink {

std::array<std::uint8_t, 32> sha256(std::string_view data);

// The digest as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace indexer::memcached_sink
