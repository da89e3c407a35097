// Progress of a long-running command (publishing many ids, reindexing): on a
// terminal one line, redrawn in place at most a few times a second, with the
// count, the rate and the time left; anywhere else nothing at all, so that
// logs and pipes stay clean.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>

namespace indexer {

// "12,345 / 100,000 ids  12%  4,321 ids/s  ETA 0:20" (with a total) or
// "12,345 ids  4,321 ids/s" (without). Pure, for the terminal line and tests.
std::string format_progress(std::uint64_t done, std::optional<std::uint64_t> total, const std::string& unit,
                            std::chrono::duration<double> elapsed);

// 1234567 -> "1,234,567".
std::string group_thousands(std::uint64_t value);

// "0:07", "12:34", "1:02:03".
std::string format_duration(std::chrono::seconds duration);

class ProgressBar {
public:
    // Draws on `out` only when it is a terminal (or when `force` says so).
    ProgressBar(std::string unit, std::optional<std::uint64_t> total, std::FILE* out = stderr,
                std::optional<bool> force = std::nullopt);
    ~ProgressBar();  // finish()es
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    // Thread-safe; cheap enough to call for every item (a draw happens at
    // most every 200 ms, and never blocks a caller while another draws).
    void advance(std::uint64_t count = 1);
    // Draws the final state and ends the line. Idempotent.
    void finish();

    std::uint64_t done() const noexcept { return done_.load(std::memory_order_relaxed); }
    bool enabled() const noexcept { return enabled_; }

private:
    void draw(bool final);

    using Clock = std::chrono::steady_clock;
    std::string unit_;
    std::optional<std::uint64_t> total_;
    std::FILE* out_;
    bool enabled_;
    Clock::time_point started_;
    std::atomic<std::uint64_t> done_{0};
    std::atomic<std::int64_t> next_draw_ns_{0};  // since started_
    std::mutex draw_mutex_;
    bool finished_ = false;
};

}  // namespace indexer
