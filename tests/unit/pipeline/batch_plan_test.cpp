#include <indexer/pipeline/batch_plan.hpp>

#include <gtest/gtest.h>

using indexer::kafka::Message;
using indexer::pipeline::BatchPlan;

TEST(BatchPlan, LoadsEachIdOnceInFirstSeenOrder) {
    std::vector<Message> messages(5);
    BatchPlan plan;
    plan.add(&messages[0], "7");
    plan.add(&messages[1], "3");
    plan.add(&messages[2], "7");
    plan.add(&messages[3], "abc");
    plan.add(&messages[4], "3");
    EXPECT_EQ(plan.ids(), (std::vector<std::string>{"7", "3", "abc"}));
}

TEST(BatchPlan, EveryMessageOfAnIdSharesItsOutcome) {
    std::vector<Message> messages(4);
    BatchPlan plan;
    plan.add(&messages[0], "7");
    plan.add(&messages[1], "8");
    plan.add(&messages[2], "7");
    plan.add(&messages[3], "7");
    ASSERT_EQ(plan.messages_of(0).size(), 3U);
    EXPECT_EQ(plan.messages_of(0)[0], &messages[0]);
    EXPECT_EQ(plan.messages_of(0)[2], &messages[3]);
    ASSERT_EQ(plan.messages_of(1).size(), 1U);
    EXPECT_EQ(plan.messages_of(1)[0], &messages[1]);
}

TEST(BatchPlan, IdsDifferingOnlyInCaseOrSpacingStayDistinct) {
    std::vector<Message> messages(3);
    BatchPlan plan;
    plan.add(&messages[0], "SKU-1");
    plan.add(&messages[1], "sku-1");
    plan.add(&messages[2], "sku-1 ");
    EXPECT_EQ(plan.ids().size(), 3U);
}
