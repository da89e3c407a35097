#include "support/test_services.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

namespace indexer::testing {

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string{} : std::string{value};
}

std::string unique_name(const std::string& prefix) {
    static std::atomic<unsigned> counter{0};
    static const unsigned salt = std::random_device{}() % 100000U;
    return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
           std::to_string(salt);
}

}  // namespace indexer::testing
