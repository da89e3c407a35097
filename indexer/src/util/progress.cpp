#include <indexer/util/progress.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <cmath>

namespace indexer {
namespace {

constexpr auto kDrawInterval = std::chrono::milliseconds(200);

}  // namespace

std::string group_thousands(std::uint64_t value) {
    std::string digits = std::to_string(value);
    std::string grouped;
    grouped.reserve(digits.size() + digits.size() / 3);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) grouped.push_back(',');
        grouped.push_back(digits[i]);
    }
    return grouped;
}

std::string format_duration(std::chrono::seconds duration) {
    const long long total = std::max<long long>(0, duration.count());
    const long long hours = total / 3600, minutes = total / 60 % 60, seconds = total % 60;
    if (hours > 0) return fmt::format("{}:{:02}:{:02}", hours, minutes, seconds);
    return fmt::format("{}:{:02}", minutes, seconds);
}

std::string format_progress(std::uint64_t done, std::optional<std::uint64_t> total, const std::string& unit,
                            std::chrono::duration<double> elapsed) {
    const double seconds = elapsed.count();
    // A rate over less than a tenth of a second says nothing yet (0: unknown).
    const double rate = seconds >= 0.1 ? static_cast<double>(done) / seconds : 0.0;
    std::string line;
    if (total) {
        const double fraction =
            *total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(*total));
        line = fmt::format("{} / {} {}  {:>3}%", group_thousands(done), group_thousands(*total), unit,
                           static_cast<int>(fraction * 100));
    } else {
        line = fmt::format("{} {}", group_thousands(done), unit);
    }
    if (rate > 0) line += fmt::format("  {} {}/s", group_thousands(static_cast<std::uint64_t>(rate)), unit);
    if (total && rate > 0 && done < *total) {
        const double left = static_cast<double>(*total - done) / rate;
        line += "  ETA " + format_duration(std::chrono::seconds(static_cast<long long>(std::ceil(left))));
    }
    return line;
}

ProgressBar::ProgressBar(std::string unit, std::optional<std::uint64_t> total, std::FILE* out,
                         std::optional<bool> force)
    : unit_(std::move(unit)),
      total_(total),
      out_(out),
      enabled_(force ? *force : (out != nullptr && ::isatty(::fileno(out)) == 1)),
      started_(Clock::now()) {}

ProgressBar::~ProgressBar() {
    finish();
}

void ProgressBar::advance(std::uint64_t count) {
    done_.fetch_add(count, std::memory_order_relaxed);
    if (!enabled_) return;
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started_).count();
    std::int64_t due = next_draw_ns_.load(std::memory_order_relaxed);
    if (now < due) return;
    // One caller wins the right to draw; the others carry on.
    const std::int64_t next =
        now + std::chrono::duration_cast<std::chrono::nanoseconds>(kDrawInterval).count();
    if (!next_draw_ns_.compare_exchange_strong(due, next, std::memory_order_relaxed)) return;
    std::unique_lock lock(draw_mutex_, std::try_to_lock);
    if (lock.owns_lock() && !finished_) draw(false);
}

void ProgressBar::finish() {
    std::lock_guard lock(draw_mutex_);
    if (finished_) return;
    finished_ = true;
    if (enabled_) draw(true);
}

void ProgressBar::draw(bool final) {
    const std::string line = format_progress(done(), total_, unit_, Clock::now() - started_);
    // \r and "erase to end of line": the line shrinks cleanly when the ETA does.
    std::fprintf(out_, "\r%s\x1b[K%s", line.c_str(), final ? "\n" : "");
    std::fflush(out_);
}

}  // namespace indexer
