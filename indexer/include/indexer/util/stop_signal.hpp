// Asks long-running loops to stop, and lets them wait interruptibly.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace indexer {

class StopSignal {
public:
    using Clock = std::chrono::steady_clock;

    // `grace`: how long the work in hand may still take once stop is asked.
    explicit StopSignal(std::chrono::milliseconds grace = std::chrono::seconds(30)) : grace_(grace) {}

    void request() {
        {
            std::lock_guard lock(mutex_);
            if (requested_.load()) return;
            deadline_ = Clock::now() + grace_;
            requested_.store(true);
        }
        changed_.notify_all();
    }
    bool requested() const noexcept { return requested_.load(); }
    // True once stop was asked and the grace period is over: abandon the work in hand.
    bool deadline_passed() const {
        std::lock_guard lock(mutex_);
        return requested_.load() && Clock::now() >= deadline_;
    }
    // When the grace ends; the far future while no stop was asked.
    Clock::time_point deadline() const {
        std::lock_guard lock(mutex_);
        return requested_.load() ? deadline_ : Clock::time_point::max();
    }
    // Sleeps for `duration` or until stop is asked; returns requested().
    bool wait_for(std::chrono::milliseconds duration) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, duration, [this] { return requested_.load(); });
        return requested_.load();
    }

private:
    std::chrono::milliseconds grace_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::atomic<bool> requested_{false};
    Clock::time_point deadline_{};
};

}  // namespace indexer
