#include <indexer/config/redaction.hpp>
#include <indexer/log/logging.hpp>
#include <indexer/log/repeat_filter.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

namespace indexer::log {
namespace {

// {"time":"2026-11-22T12:00:00.123Z","level":"info","logger":"products","message":"..."}
class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto since_epoch = msg.time.time_since_epoch();
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
        const auto millis =
            std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
        const std::time_t time = seconds.count();
        std::tm utc{};
        gmtime_r(&time, &utc);
        char stamp[40];
        const std::size_t length = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
        nlohmann::json line{
            {"time", std::string(stamp, length) + "." + (millis < 100 ? (millis < 10 ? "00" : "0") : "") +
                         std::to_string(millis) + "Z"},
            {"level", spdlog::level::to_string_view(msg.level).data()},
            {"message", std::string(msg.payload.data(), msg.payload.size())},
        };
        if (msg.logger_name.size() > 0)
            line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
        const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// Every line without the configuration's secrets (config::redact): client
// libraries' messages are logged as they come, and may echo a password.
class RedactingSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit RedactingSink(std::shared_ptr<spdlog::sinks::sink> next) : next_(std::move(next)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string text = config::redact(std::string_view(msg.payload.data(), msg.payload.size()));
        spdlog::details::log_msg redacted = msg;
        redacted.payload = spdlog::string_view_t(text.data(), text.size());
        next_->log(redacted);
    }
    void flush_() override { next_->flush(); }

private:
    std::shared_ptr<spdlog::sinks::sink> next_;
};

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
    switch (level) {
        case config::LogLevel::Trace:
            return spdlog::level::trace;
        case config::LogLevel::Debug:
            return spdlog::level::debug;
        case config::LogLevel::Info:
            return spdlog::level::info;
        case config::LogLevel::Warn:
            return spdlog::level::warn;
        case config::LogLevel::Error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

}  // namespace

void setup(const config::LoggingConfig& logging) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    const bool json = logging.format == config::LogFormat::Json ||
                      (logging.format == config::LogFormat::Auto && ::isatty(STDERR_FILENO) == 0);
    if (json) {
        sink->set_formatter(std::make_unique<JsonFormatter>());
    } else {
        sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    }
    // Identical warnings and errors within 30 s: the first logged, the rest counted.
    auto logger = std::make_shared<spdlog::logger>(
        "", std::make_shared<RedactingSink>(make_repeat_filter_sink(sink, std::chrono::seconds(30))));
    logger->set_level(to_spdlog(logging.level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

void setup_defaults() {
    setup(config::LoggingConfig{config::LogLevel::Info, config::LogFormat::Text});
}

}  // namespace indexer::log
