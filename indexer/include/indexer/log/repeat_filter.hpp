// Rate limiting of repeated identical log lines. A broker or database that is
// down makes clients report the same error many times a second; the first
// line says everything, the rest only bury other lines. So the first
// occurrence of a warning or error is logged, the same text again within the
// window is only counted, and once the window is over (noticed at the next
// line logged, or at exit) one line reports it with the count:
//
//   WARN products: connection refused (repeated 57 more times in 30 s)
#pragma once

#include <spdlog/sinks/sink.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace indexer::log {

// `text` with every line break (and the indentation after it) made one space.
std::string one_line(std::string_view text);

// The bookkeeping, without spdlog: which lines to log, which to count.
class RepeatFilter {
public:
    using Clock = std::chrono::steady_clock;

    struct Repeated {
        std::string key;
        std::uint64_t count = 0;  // occurrences suppressed after the first
    };

    // At most `max_tracked` distinct lines are remembered; beyond that the
    // oldest windows are dropped first (their repeats reported).
    explicit RepeatFilter(Clock::duration window, std::size_t max_tracked = 1024);

    // True: log this line now. False: it repeats a line logged less than a
    // window ago; counted.
    bool admit(std::string_view key, Clock::time_point now);

    // The lines whose window ended by `now` and that were repeated in it;
    // their windows are closed (the next occurrence is logged again).
    std::vector<Repeated> expire(Clock::time_point now);
    // Every line with repeats not reported yet (at exit).
    std::vector<Repeated> drain();

    Clock::duration window() const noexcept { return window_; }

private:
    struct Entry {
        Clock::time_point window_end;
        std::uint64_t suppressed = 0;
    };
    Clock::duration window_;
    std::size_t max_tracked_;
    std::unordered_map<std::string, Entry> entries_;
};

// A sink that passes every line to `target`, except repeated warnings and
// errors (see above). It also keeps each event on one line: line breaks inside
// a message (libpq's errors have them) become spaces. Thread-safe.
std::shared_ptr<spdlog::sinks::sink> make_repeat_filter_sink(std::shared_ptr<spdlog::sinks::sink> target,
                                                             std::chrono::seconds window);

}  // namespace indexer::log
