// Writes a batch's ops through a sink until each one is settled: OK, or
// REJECT (to be dead-lettered). RETRY results are written again — only those
// ops — after an exponential, jittered, capped delay, without limit: a sink
// that is down for an hour delays the pipeline for an hour and loses nothing.
#pragma once

#include <indexer/plugin/sink_handle.hpp>
#include <indexer/util/backoff.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace indexer::pipeline {

struct WriteOutcome {
    // One per op: OK or REJECT; RETRY only when the write was abandoned.
    std::vector<plugin::SinkResult> results;
    bool abandoned = false;         // the waiter asked to stop before every op settled
    std::uint32_t attempts = 0;     // write calls made
    std::uint64_t retried_ops = 0;  // ops written again after a RETRY
    std::chrono::microseconds elapsed{0};
};

class SinkWriter {
public:
    // Called between attempts with the delay to wait, the first retry reason
    // and how many ops will be written again; it waits (keeping the consumer
    // alive meanwhile) and returns false to abandon the batch (shutdown
    // deadline, partitions revoked).
    using Waiter =
        std::function<bool(std::chrono::milliseconds delay, const std::string& reason, std::size_t retrying)>;

    SinkWriter(plugin::SinkHandle& sink, Backoff backoff) : sink_(&sink), backoff_(std::move(backoff)) {}

    WriteOutcome write(std::span<const plugin::SinkOp> ops, const Waiter& wait);

private:
    plugin::SinkHandle* sink_;
    Backoff backoff_;
};

}  // namespace indexer::pipeline
