// Stops a sink write while it is under way and measures how long the write
// took to return after the stop: the shared shape of the tests of the sink
// ABI's "stop now".
#pragma once

#include <indexer/plugin/sink_handle.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <span>
#include <thread>
#include <vector>

namespace indexer::testing {

struct StoppedWrite {
    std::vector<plugin::SinkResult> results;
    std::chrono::steady_clock::duration after_stop{};  // from setting the flag to the write's return
    bool was_under_way = false;                        // under_way() held before the stop
};

// Writes `ops` through `sink` on another thread with a stop flag and no
// deadline; once `under_way()` holds (polled, for at most 10 s) sets the flag.
inline StoppedWrite stop_write_under_way(plugin::SinkHandle& sink, std::span<const plugin::SinkOp> ops,
                                         const std::function<bool()>& under_way) {
    using Clock = std::chrono::steady_clock;
    std::atomic<bool> stop{false};
    auto writing = std::async(std::launch::async, [&] {
        return sink.write(ops, plugin::WriteControl{Clock::time_point::max(), &stop});
    });
    StoppedWrite outcome;
    const auto give_up = Clock::now() + std::chrono::seconds(10);
    while (!(outcome.was_under_way = under_way()) && Clock::now() < give_up) std::this_thread::yield();
    const auto stopped_at = Clock::now();
    stop.store(true);
    outcome.results = writing.get();
    outcome.after_stop = Clock::now() - stopped_at;
    return outcome;
}

}  // namespace indexer::testing
