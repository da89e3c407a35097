#include "indexer/sinks/elasticsearch/host_pool.hpp"

#include <stdexcept>

namespace indexer::sinks::elasticsearch {

HostPool::HostPool(std::size_t hosts, std::chrono::milliseconds cooldown)
    : cooldown_(cooldown), down_until_(hosts), down_(hosts, false) {
    if (hosts == 0) throw std::invalid_argument("HostPool needs at least one host");
}

std::size_t HostPool::pick(const std::vector<bool>& tried) {
    const std::size_t n = down_until_.size();
    const auto now = Clock::now();
    const auto untried = [&](std::size_t h) { return tried.empty() || !tried[h]; };
    std::size_t fallback = n;
    for (std::size_t step = 0; step < n; ++step) {
        const std::size_t host = (next_ + step) % n;
        if (!untried(host)) continue;
        if (down_until_[host] <= now) {
            next_ = (host + 1) % n;
            return host;
        }
        if (fallback == n || down_until_[host] < down_until_[fallback]) fallback = host;
    }
    if (fallback == n) throw std::logic_error("HostPool::pick: every host was tried");
    next_ = (fallback + 1) % n;
    return fallback;
}

bool HostPool::failed(std::size_t host) {
    down_until_[host] = Clock::now() + cooldown_;
    const bool was_up = !down_[host];
    down_[host] = true;
    return was_up;
}

bool HostPool::answered(std::size_t host) {
    down_until_[host] = Clock::time_point{};
    const bool was_down = down_[host];
    down_[host] = false;
    return was_down;
}

}  // namespace indexer::sinks::elasticsearch
