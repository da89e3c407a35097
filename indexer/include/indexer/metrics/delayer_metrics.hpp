// The metrics of one delayer, labelled {delayer="<name>"}, read from
// Delayer::stats() at each scrape:
//
//   indexer_delayer_messages_waiting                 consumed, not yet re-published
//   indexer_delayer_next_due_seconds                 until the next waiting message is due
//                                                    (absent while nothing waits)
//   indexer_delayer_republished_total                acknowledged on the target topic
//   indexer_delayer_dead_letters_total               broken delay wrappers dead-lettered
//   indexer_delayer_passed_through_total             broken delay wrappers re-published unchanged
//   indexer_delayer_future_timestamps_total          message times ahead of the clock, taken as now
//   indexer_delayer_publish_failures_total           deliveries that failed and are retried
#pragma once

#include <indexer/delayer/delayer.hpp>
#include <indexer/metrics/registry.hpp>

#include <string>

namespace indexer::metrics {

// `delayer` must outlive the handle.
[[nodiscard]] Registry::CollectorHandle add_delayer_metrics(Registry& registry,
                                                            const delayer::Delayer& delayer);

// The same families from a snapshot (what the collector returns; for tests).
std::vector<prometheus::MetricFamily> delayer_families(const std::string& name,
                                                       const delayer::DelayerStats& stats);

}  // namespace indexer::metrics
