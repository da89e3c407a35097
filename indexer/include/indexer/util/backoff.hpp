// The one retry delay policy of the project: exponential, jittered ("full
// jitter" over the upper half), capped. Used for sink retries, database
// reconnects and anything else that waits before trying again.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace indexer {

class Backoff {
public:
    using Duration = std::chrono::milliseconds;

    Backoff(Duration initial = Duration{100}, Duration max = Duration{30'000}, double multiplier = 2.0);

    // The delay before the next attempt; grows with each call up to the cap.
    Duration next();
    // Back to the initial delay after a success.
    void reset() noexcept { attempt_ = 0; }
    std::uint32_t attempts() const noexcept { return attempt_; }

private:
    Duration initial_;
    Duration max_;
    double multiplier_;
    std::uint32_t attempt_ = 0;
    std::minstd_rand random_;
};

}  // namespace indexer
