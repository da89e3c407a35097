#include <indexer/util/backoff.hpp>

#include <gtest/gtest.h>

using indexer::Backoff;
using std::chrono::milliseconds;

TEST(Backoff, GrowsExponentiallyWithinJitterBounds) {
    Backoff backoff(milliseconds{100}, milliseconds{10'000}, 2.0);
    for (int attempt = 0; attempt < 6; ++attempt) {
        const auto ceiling = 100 * (1 << attempt);
        const auto delay = backoff.next().count();
        EXPECT_GE(delay, ceiling / 2) << "attempt " << attempt;
        EXPECT_LE(delay, ceiling) << "attempt " << attempt;
    }
}

TEST(Backoff, NeverExceedsTheCap) {
    Backoff backoff(milliseconds{100}, milliseconds{1'000}, 2.0);
    for (int attempt = 0; attempt < 200; ++attempt) EXPECT_LE(backoff.next().count(), 1'000);
}

TEST(Backoff, ResetStartsOverFromTheInitialDelay) {
    Backoff backoff(milliseconds{100}, milliseconds{10'000}, 2.0);
    for (int attempt = 0; attempt < 10; ++attempt) (void)backoff.next();
    backoff.reset();
    EXPECT_EQ(backoff.attempts(), 0U);
    EXPECT_LE(backoff.next().count(), 100);
}
