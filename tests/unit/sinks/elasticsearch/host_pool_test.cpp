#include "indexer/sinks/elasticsearch/host_pool.hpp"

#include <gtest/gtest.h>

namespace indexer::sinks::elasticsearch {
namespace {

constexpr std::chrono::hours kLongCooldown{1};

TEST(HostPool, RequestsGoRoundRobinOverTheHosts) {
    HostPool pool(3, kLongCooldown);
    EXPECT_EQ(pool.pick(), 0U);
    EXPECT_EQ(pool.pick(), 1U);
    EXPECT_EQ(pool.pick(), 2U);
    EXPECT_EQ(pool.pick(), 0U);
}

TEST(HostPool, AHostThatFailedIsPassedOverWhileOthersAnswer) {
    HostPool pool(3, kLongCooldown);
    EXPECT_TRUE(pool.failed(1));
    EXPECT_FALSE(pool.failed(1));  // already down: no second log line
    for (int i = 0; i < 6; ++i) EXPECT_NE(pool.pick(), 1U);
    EXPECT_TRUE(pool.answered(1));
    EXPECT_FALSE(pool.answered(1));
    bool seen = false;
    for (int i = 0; i < 3; ++i) seen = seen || pool.pick() == 1U;
    EXPECT_TRUE(seen);
}

TEST(HostPool, WhenEveryHostFailedTheOneThatFailedFirstIsTriedAgain) {
    HostPool pool(2, kLongCooldown);
    pool.failed(1);
    pool.failed(0);
    EXPECT_EQ(pool.pick(), 1U);
}

TEST(HostPool, FailoverNeverOffersAHostTheRequestAlreadyTried) {
    HostPool pool(3, kLongCooldown);
    std::vector<bool> tried{true, false, true};
    pool.failed(1);
    EXPECT_EQ(pool.pick(tried), 1U);
    tried = {false, true, true};
    EXPECT_EQ(pool.pick(tried), 0U);
}

TEST(HostPool, ZeroCooldownKeepsEveryHostInTheRotation) {
    HostPool pool(2, std::chrono::milliseconds{0});
    pool.failed(0);
    EXPECT_EQ(pool.pick(), 0U);
    EXPECT_EQ(pool.pick(), 1U);
}

}  // namespace
}  // namespace indexer::sinks::elasticsearch
