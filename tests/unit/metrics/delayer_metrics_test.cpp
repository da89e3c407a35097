#include <indexer/metrics/delayer_metrics.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace indexer::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(DelayerMetrics, ExportWaitingNextDueAndCountsLabelledByDelayer) {
    delayer::DelayerStats stats;
    stats.waiting = 12;
    stats.seconds_until_next_due = 4.5;
    stats.republished = 100;
    stats.dead_lettered = 2;
    stats.publish_failures = 1;

    const std::string text = render_text(delayer_families("products-delay", stats));
    EXPECT_THAT(text, HasSubstr("# TYPE indexer_delayer_messages_waiting gauge\n"
                                "indexer_delayer_messages_waiting{delayer=\"products-delay\"} 12\n"));
    EXPECT_THAT(text, HasSubstr("indexer_delayer_next_due_seconds{delayer=\"products-delay\"} 4.5\n"));
    EXPECT_THAT(text, HasSubstr("# TYPE indexer_delayer_republished_total counter\n"
                                "indexer_delayer_republished_total{delayer=\"products-delay\"} 100\n"));
    EXPECT_THAT(text, HasSubstr("indexer_delayer_dead_letters_total{delayer=\"products-delay\"} 2\n"));
    EXPECT_THAT(text, HasSubstr("indexer_delayer_publish_failures_total{delayer=\"products-delay\"} 1\n"));
}

TEST(DelayerMetrics, LeaveOutNextDueWhileNothingWaits) {
    delayer::DelayerStats stats;
    const std::string text = render_text(delayer_families("d", stats));
    EXPECT_THAT(text, HasSubstr("indexer_delayer_messages_waiting{delayer=\"d\"} 0\n"));
    EXPECT_THAT(text, Not(HasSubstr("indexer_delayer_next_due_seconds")));
}

}  // namespace
}  // namespace indexer::metrics
