// indexer::delayer::plan_delay on any value and timestamps: never throws, a
// plain or broken message is passed on unchanged, a wrapper's payload is a JSON
// object, and the time is never further in the future than the tolerance.
#include <indexer/delayer/delay_message.hpp>
#include <indexer/util/json_scan.hpp>

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

using indexer::delayer::Clock;
using indexer::delayer::DelayFormat;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    // Times within ±139 years of the epoch in milliseconds: the clock counts
    // nanoseconds in 64 bits, so wider times would overflow in the harness.
    constexpr std::int64_t kRange = std::int64_t{1} << 42;
    const auto time_at = [](std::int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); };
    std::optional<Clock::time_point> kafka_timestamp;
    if (input.ConsumeBool())
        kafka_timestamp = time_at(input.ConsumeIntegralInRange<std::int64_t>(-kRange, kRange));
    const Clock::time_point seen_at = time_at(input.ConsumeIntegralInRange<std::int64_t>(0, kRange));
    const std::chrono::milliseconds tolerance(input.ConsumeIntegralInRange<std::int64_t>(0, 1'000'000'000));
    std::optional<std::string> value;
    if (input.ConsumeBool()) value = input.ConsumeRemainingBytesAsString();

    const indexer::delayer::DelayPlan plan =
        indexer::delayer::plan_delay(value, kafka_timestamp, seen_at, tolerance);
    switch (plan.format) {
        case DelayFormat::plain:
            FUZZ_CHECK(plan.value == value);
            FUZZ_CHECK(plan.problem.empty());
            break;
        case DelayFormat::broken_wrapper:
            FUZZ_CHECK(plan.value == value);
            FUZZ_CHECK(!plan.problem.empty());
            break;
        case DelayFormat::wrapper: {
            FUZZ_CHECK(plan.value.has_value());
            // RFC 8259 JSON, an object: a payload may hold numbers such as
            // 5e400 that are valid JSON but that nlohmann refuses to parse.
            const auto payload = indexer::json::scan(*plan.value);
            FUZZ_CHECK(payload && payload.value().root.kind == indexer::json::Kind::object);
            break;
        }
    }
    if (plan.time_from_future) FUZZ_CHECK(plan.time == seen_at);
    FUZZ_CHECK(plan.time <= seen_at || plan.time - seen_at <= tolerance);
    return 0;
}
