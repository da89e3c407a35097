// Which host the next request goes to: round-robin over the configured hosts,
// passing over a host that just failed to answer while others remain.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace indexer::sinks::elasticsearch {

class HostPool {
public:
    using Clock = std::chrono::steady_clock;

    HostPool(std::size_t hosts, std::chrono::milliseconds cooldown);

    std::size_t size() const noexcept { return down_until_.size(); }

    // The next host in turn that is neither cooling down nor in `tried` (one
    // flag per host, may be empty). When every untried host is cooling down,
    // the one that comes back first. Requires an untried host.
    std::size_t pick(const std::vector<bool>& tried = {});

    // The host did not answer: pass over it for the cooldown. True when it
    // was up until now (worth one log line).
    bool failed(std::size_t host);
    // The host answered. True when it was down until now.
    bool answered(std::size_t host);

private:
    std::chrono::milliseconds cooldown_;
    std::vector<Clock::time_point> down_until_;
    std::vector<bool> down_;
    std::size_t next_ = 0;
};

}  // namespace indexer::sinks::elasticsearch
