#include <indexer/delayer/delay_message.hpp>

#include <indexer/util/json_scan.hpp>
#include <indexer/util/text.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>

namespace indexer::delayer {
namespace {

// Beyond year 2255 (and beyond what the clock's nanoseconds hold): not epoch
// seconds of this era (milliseconds, garbage); treated as "in the future".
constexpr double max_epoch_seconds = 9e9;

// The time of created_at, or why it is not one.
Result<Clock::time_point> time_of(const json::Value& created_at) {
    if (created_at.kind != json::Kind::number) {
        return Status::error("delay wrapper field \"created_at\" is " +
                             std::string(json::describe(created_at.kind)) + ", expected epoch seconds");
    }
    const std::string_view raw = created_at.raw;
    const auto not_a_time = [&](std::string_view why) {
        return Status::error("delay wrapper field \"created_at\" is " + std::string(why) + " (" +
                             excerpt(raw, 40) + ")");
    };
    if (raw.starts_with('-') && raw.find_first_not_of("-0.eE+") != std::string_view::npos) {
        return not_a_time("not a time");
    }
    if (created_at.integer) {
        std::int64_t seconds = 0;
        const auto [end, error] = std::from_chars(raw.data(), raw.data() + raw.size(), seconds);
        if (error != std::errc() || end != raw.data() + raw.size()) return not_a_time("out of range");
        if (static_cast<double>(seconds) > max_epoch_seconds) return Clock::time_point::max();
        return Clock::time_point(std::chrono::seconds(seconds));
    }
    double seconds = 0;
    const auto [end, error] = std::from_chars(raw.data(), raw.data() + raw.size(), seconds);
    if (error != std::errc() || end != raw.data() + raw.size() || !std::isfinite(seconds)) {
        return not_a_time("out of range");
    }
    if (seconds > max_epoch_seconds) return Clock::time_point::max();  // caught as "future"
    // Milliseconds, like Kafka timestamps; finer digits are noise of the double.
    return Clock::time_point(
        std::chrono::round<std::chrono::milliseconds>(std::chrono::duration<double>(seconds)));
}

}  // namespace

DelayPlan plan_delay(const std::optional<std::string>& value,
                     std::optional<Clock::time_point> kafka_timestamp, Clock::time_point seen_at,
                     std::chrono::milliseconds future_tolerance) {
    DelayPlan plan;
    plan.value = value;
    plan.time = kafka_timestamp.value_or(seen_at);

    const auto scanned = value ? json::scan(*value) : Result<json::Scan>(Status::error("no value"));
    if (scanned && scanned.value().root.kind == json::Kind::object) {
        const json::Value* payload = scanned.value().find("payload");
        const json::Value* created_at = scanned.value().find("created_at");
        if (payload != nullptr || created_at != nullptr) {
            if (payload == nullptr) {
                plan.problem = "delay wrapper without field \"payload\"";
            } else if (created_at == nullptr) {
                plan.problem = "delay wrapper without field \"created_at\"";
            } else if (payload->kind != json::Kind::object) {
                plan.problem = "delay wrapper field \"payload\" is " +
                               std::string(json::describe(payload->kind)) + ", expected an object";
            } else if (auto time = time_of(*created_at); !time) {
                plan.problem = time.error();
            } else {
                plan.format = DelayFormat::wrapper;
                // The payload's own bytes: no re-serialisation, so nothing is
                // lost (big numbers) and nothing recurses on its nesting.
                plan.value = std::string(payload->raw);
                plan.time = time.value();
            }
            if (!plan.problem.empty()) plan.format = DelayFormat::broken_wrapper;
        }
    }

    if (plan.time > seen_at && plan.time - seen_at > future_tolerance) {
        plan.time = seen_at;
        plan.time_from_future = true;
    }
    return plan;
}

}  // namespace indexer::delayer
