#include <indexer/log/repeat_filter.hpp>

#include <fmt/format.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <mutex>

namespace indexer::log {

std::string one_line(std::string_view text) {
    std::string line;
    line.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\n' && text[i] != '\r') {
            line.push_back(text[i]);
            continue;
        }
        while (i + 1 < text.size() &&
               (text[i + 1] == '\n' || text[i + 1] == '\r' || text[i + 1] == '\t' || text[i + 1] == ' '))
            ++i;
        // A break at the end of a message is dropped, one inside it becomes a space.
        if (i + 1 < text.size() && !line.empty() && line.back() != ' ') line.push_back(' ');
    }
    return line;
}

RepeatFilter::RepeatFilter(Clock::duration window, std::size_t max_tracked)
    : window_(window), max_tracked_(std::max<std::size_t>(1, max_tracked)) {}

bool RepeatFilter::admit(std::string_view key, Clock::time_point now) {
    const auto found = entries_.find(std::string(key));
    if (found != entries_.end() && now < found->second.window_end) {
        found->second.suppressed++;
        return false;
    }
    if (found != entries_.end()) {
        // A window expire() was not asked about: a new one starts with this line.
        found->second = Entry{now + window_, 0};
        return true;
    }
    if (entries_.size() >= max_tracked_) {
        // Forget the line whose window ends first; with no repeats it loses nothing.
        const auto oldest = std::min_element(
            entries_.begin(), entries_.end(),
            [](const auto& a, const auto& b) { return a.second.window_end < b.second.window_end; });
        entries_.erase(oldest);
    }
    entries_.emplace(std::string(key), Entry{now + window_, 0});
    return true;
}

std::vector<RepeatFilter::Repeated> RepeatFilter::expire(Clock::time_point now) {
    std::vector<Repeated> repeated;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.window_end > now) {
            ++it;
            continue;
        }
        if (it->second.suppressed > 0) repeated.push_back({it->first, it->second.suppressed});
        it = entries_.erase(it);
    }
    return repeated;
}

std::vector<RepeatFilter::Repeated> RepeatFilter::drain() {
    return expire(Clock::time_point::max());
}

namespace {

class RepeatFilterSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    RepeatFilterSink(std::shared_ptr<spdlog::sinks::sink> target, std::chrono::seconds window)
        : target_(std::move(target)), filter_(window), window_seconds_(window.count()) {}

    ~RepeatFilterSink() override {
        std::lock_guard lock(mutex_);
        report(filter_.drain());
        target_->flush();
    }

protected:
    void sink_it_(const spdlog::details::log_msg& original) override {
        std::string flattened;
        spdlog::details::log_msg msg = original;
        const std::string_view payload(original.payload.data(), original.payload.size());
        if (payload.find_first_of("\r\n") != std::string_view::npos) {
            flattened = one_line(payload);
            msg.payload = spdlog::string_view_t(flattened.data(), flattened.size());
        }
        const auto now = RepeatFilter::Clock::now();
        // Looking for ended windows once a second is often enough, and keeps
        // busy debug logging cheap.
        if (now >= next_sweep_) {
            report(filter_.expire(now));
            next_sweep_ = now + std::chrono::seconds(1);
        }
        if (msg.level < spdlog::level::warn) {
            target_->log(msg);
            return;
        }
        if (filter_.admit(key_of(msg.level, msg.logger_name, msg.payload), now)) {
            target_->log(msg);
        }
    }

    void flush_() override { target_->flush(); }

private:
    // level, logger and text, separated by characters a log line does not hold.
    static std::string key_of(spdlog::level::level_enum level, spdlog::string_view_t logger,
                              spdlog::string_view_t text) {
        std::string key;
        key.reserve(logger.size() + text.size() + 4);
        key.push_back(static_cast<char>('0' + static_cast<int>(level)));
        key.push_back('\x1f');
        key.append(logger.data(), logger.size());
        key.push_back('\x1f');
        key.append(text.data(), text.size());
        return key;
    }

    void report(const std::vector<RepeatFilter::Repeated>& repeated) {
        for (const auto& line : repeated) {
            const std::size_t first = line.key.find('\x1f');
            const std::size_t second = line.key.find('\x1f', first + 1);
            const auto level = static_cast<spdlog::level::level_enum>(line.key[0] - '0');
            const std::string_view logger(line.key.data() + first + 1, second - first - 1);
            const std::string text = fmt::format("{} (repeated {} more times in {} s)",
                                                 line.key.substr(second + 1), line.count, window_seconds_);
            target_->log(spdlog::details::log_msg(spdlog::string_view_t(logger.data(), logger.size()), level,
                                                  spdlog::string_view_t(text.data(), text.size())));
        }
    }

    std::shared_ptr<spdlog::sinks::sink> target_;
    RepeatFilter filter_;
    long long window_seconds_;
    RepeatFilter::Clock::time_point next_sweep_{};
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> make_repeat_filter_sink(std::shared_ptr<spdlog::sinks::sink> target,
                                                             std::chrono::seconds window) {
    return std::make_shared<RepeatFilterSink>(std::move(target), window);
}

}  // namespace indexer::log
