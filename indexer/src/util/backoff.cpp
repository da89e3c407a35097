#include <indexer/util/backoff.hpp>

#include <algorithm>
#include <cmath>

namespace indexer {

Backoff::Backoff(Duration initial, Duration max, double multiplier)
    : initial_(initial), max_(max), multiplier_(multiplier), random_(std::random_device{}()) {}

Backoff::Duration Backoff::next() {
    const double ceiling = std::min(static_cast<double>(max_.count()),
                                    static_cast<double>(initial_.count()) * std::pow(multiplier_, attempt_));
    if (attempt_ < 64) ++attempt_;
    // Jitter over [ceiling/2, ceiling] so that many waiters do not retry in step,
    // while the delay still grows.
    std::uniform_real_distribution<double> jitter(ceiling / 2.0, ceiling);
    return Duration{static_cast<Duration::rep>(jitter(random_))};
}

}  // namespace indexer
