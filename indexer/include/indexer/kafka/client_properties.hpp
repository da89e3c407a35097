// The librdkafka properties of each kind of client: the user's pass-through
// properties plus the ones the indexer's guarantees rest on. Pure functions, so
// that the rules are unit-tested; the clients apply the result.
#pragma once

#include <indexer/kafka/message.hpp>
#include <indexer/util/status.hpp>

#include <map>
#include <string>

namespace indexer::kafka {

using Properties = std::map<std::string, std::string>;

// For a consumer of group `group_id`. Forced: bootstrap.servers (from
// options.brokers), group.id, enable.auto.commit=false and
// enable.auto.offset.store=false (offsets are committed explicitly, after the
// work is done). A property that contradicts a forced one is an error naming
// it. Defaults the user may change: auto.offset.reset=earliest (a new group
// starts with the retained messages rather than skipping them) and
// partition.assignment.strategy=range,roundrobin (eager; see consumer.hpp).
Result<Properties> consumer_properties(const ClientOptions& options, const std::string& group_id);

// For a producer. Forced: bootstrap.servers, enable.idempotence=true and
// acks=all, so that an acknowledged message is on every in-sync replica,
// exactly once per produce call, in order.
Result<Properties> producer_properties(const ClientOptions& options);

}  // namespace indexer::kafka
