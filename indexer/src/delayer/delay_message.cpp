#include <indexer/delayer/delay_message.hpp>

#include <nlohmann/json.hpp>

#include <cmath>

namespace indexer::delayer {
namespace {

using nlohmann::json;

// Beyond year 2255 (and beyond what the clock's nanoseconds hold): not epoch
// seconds of this era (milliseconds, garbage); treated as "in the future".
constexpr double max_epoch_seconds = 9e9;

std::string type_name(const json& value) {
    switch (value.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::string:
            return "a string";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        default:
            return "a number";
    }
}

}  // namespace

DelayPlan plan_delay(const std::optional<std::string>& value,
                     std::optional<Clock::time_point> kafka_timestamp, Clock::time_point seen_at,
                     std::chrono::milliseconds future_tolerance) {
    DelayPlan plan;
    plan.value = value;
    plan.time = kafka_timestamp.value_or(seen_at);

    const json parsed = value ? json::parse(*value, nullptr, false) : json();
    if (parsed.is_object() && (parsed.contains("payload") || parsed.contains("created_at"))) {
        const auto payload = parsed.find("payload");
        const auto created_at = parsed.find("created_at");
        if (payload == parsed.end()) {
            plan.problem = "delay wrapper without field \"payload\"";
        } else if (created_at == parsed.end()) {
            plan.problem = "delay wrapper without field \"created_at\"";
        } else if (!created_at->is_number()) {
            plan.problem = "delay wrapper field \"created_at\" is " + type_name(*created_at) +
                           ", expected epoch seconds";
        } else if (const double seconds = created_at->get<double>(); !std::isfinite(seconds) || seconds < 0) {
            plan.problem = "delay wrapper field \"created_at\" is not a time (" + created_at->dump() + ")";
        } else {
            plan.format = DelayFormat::wrapper;
            plan.value = payload->dump();
            if (seconds > max_epoch_seconds) {
                plan.time = Clock::time_point::max();  // caught as "future" below
            } else if (created_at->is_number_float()) {
                // Milliseconds, like Kafka timestamps; finer digits are noise of the double.
                plan.time = Clock::time_point(
                    std::chrono::round<std::chrono::milliseconds>(std::chrono::duration<double>(seconds)));
            } else {
                plan.time = Clock::time_point(std::chrono::seconds(created_at->get<std::int64_t>()));
            }
        }
        if (!plan.problem.empty()) plan.format = DelayFormat::broken_wrapper;
    }

    if (plan.time > seen_at && plan.time - seen_at > future_tolerance) {
        plan.time = seen_at;
        plan.time_from_future = true;
    }
    return plan;
}

}  // namespace indexer::delayer
