#include "indexer/sinks/memcached/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace indexer::memcached_sink {

std::array<std::uint8_t, 32> sha256(std::string_view data) {
    std::array<std::uint8_t, 32> digest{};
    unsigned int size = 0;
    // Fails only when libcrypto cannot allocate or has no SHA-256 (a broken installation).
    if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
        size != digest.size()) {
        throw std::runtime_error("libcrypto could not compute a SHA-256 digest");
    }
    return digest;
}

std::string sha256_hex(std::string_view data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(64);
    for (const std::uint8_t byte : sha256(data)) {
        hex.push_back(kDigits[byte >> 4]);
        hex.push_back(kDigits[byte & 0x0f]);
    }
    return hex;
}

}  // namespace indexer::memcached_sink
