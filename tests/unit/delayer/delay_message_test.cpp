#include <indexer/delayer/delay_message.hpp>

#include <gtest/gtest.h>

namespace indexer::delayer {
namespace {

using namespace std::chrono_literals;

const Clock::time_point seen_at = Clock::time_point(1'700'000'100s);
const Clock::time_point kafka_time = Clock::time_point(1'700'000'090s);
constexpr auto tolerance = 60s;

DelayPlan plan(const std::optional<std::string>& value,
               std::optional<Clock::time_point> timestamp = kafka_time) {
    return plan_delay(value, timestamp, seen_at, tolerance);
}

TEST(PlanDelay, WrapperRepublishesItsPayloadsBytesFromCreatedAt) {
    const DelayPlan result = plan(R"({"payload": {"id": 42, "name": "a b"} , "created_at": 1700000000})");
    EXPECT_EQ(result.format, DelayFormat::wrapper);
    EXPECT_EQ(result.value, R"({"id": 42, "name": "a b"})");
    EXPECT_EQ(result.time, Clock::time_point(1'700'000'000s));
    EXPECT_FALSE(result.time_from_future);
}

TEST(PlanDelay, WrapperKeepsBigIntegerIdsExact) {
    EXPECT_EQ(plan(R"({"payload": {"id": 18446744073709551615}, "created_at": 1})").value,
              R"({"id": 18446744073709551615})");
    EXPECT_EQ(plan(R"({"payload": {"id": 1, "price": 1e400}, "created_at": 1})").value,
              R"({"id": 1, "price": 1e400})");
}

TEST(PlanDelay, WrapperAcceptsFractionalSeconds) {
    const DelayPlan result = plan(R"({"payload": {"id": 1}, "created_at": 1700000000.25})");
    EXPECT_EQ(result.format, DelayFormat::wrapper);
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(result.time.time_since_epoch()).count(),
              1'700'000'000'250);
}

TEST(PlanDelay, PlainMessageIsRepublishedUnchangedFromItsKafkaTimestamp) {
    const DelayPlan result = plan(R"({"id": 42,  "x": 1})");
    EXPECT_EQ(result.format, DelayFormat::plain);
    EXPECT_EQ(result.value, R"({"id": 42,  "x": 1})");
    EXPECT_EQ(result.time, kafka_time);
}

TEST(PlanDelay, NonJsonAndNullValuesArePlain) {
    EXPECT_EQ(plan("not json").format, DelayFormat::plain);
    EXPECT_EQ(plan("not json").value, "not json");
    EXPECT_EQ(plan(std::nullopt).format, DelayFormat::plain);
    EXPECT_FALSE(plan(std::nullopt).value);
    EXPECT_EQ(plan("42").format, DelayFormat::plain);
}

TEST(PlanDelay, WithoutKafkaTimestampTheDelayCountsFromWhenSeen) {
    EXPECT_EQ(plan("42", std::nullopt).time, seen_at);
}

TEST(PlanDelay, BrokenWrappersSayWhyAndKeepTheValue) {
    const std::string no_payload = R"({"created_at": 1700000000})";
    EXPECT_EQ(plan(no_payload).format, DelayFormat::broken_wrapper);
    EXPECT_EQ(plan(no_payload).problem, "delay wrapper without field \"payload\"");
    EXPECT_EQ(plan(no_payload).value, no_payload);
    EXPECT_EQ(plan(no_payload).time, kafka_time);
    EXPECT_EQ(plan(R"({"payload": {"id": 1}})").problem, "delay wrapper without field \"created_at\"");
    EXPECT_EQ(plan(R"({"payload": {"id": 1}, "created_at": "2023-11-14"})").problem,
              "delay wrapper field \"created_at\" is a string, expected epoch seconds");
    EXPECT_EQ(plan(R"({"payload": {"id": 1}, "created_at": -5})").problem,
              "delay wrapper field \"created_at\" is not a time (-5)");
    EXPECT_EQ(plan(R"({"payload": {"id": 1}, "created_at": null})").format, DelayFormat::broken_wrapper);
}

TEST(PlanDelay, CreatedAtOutOfRangeIsABrokenWrapper) {
    EXPECT_EQ(plan(R"({"payload": {"id": 1}, "created_at": 1e400})").problem,
              "delay wrapper field \"created_at\" is out of range (1e400)");
    EXPECT_EQ(plan(R"({"payload": {"id": 1}, "created_at": 9223372036854775808})").problem,
              "delay wrapper field \"created_at\" is out of range (9223372036854775808)");
    EXPECT_EQ(
        plan(R"({"payload": {"id": 1}, "created_at": )" + std::string(400, '9') + "}").problem,
        "delay wrapper field \"created_at\" is out of range (9999999999999999999999999999999999999999... "
        "(truncated from 400 bytes))");
    EXPECT_EQ(plan(R"({"payload": {"id": 1}, "created_at": -1e400})").problem,
              "delay wrapper field \"created_at\" is not a time (-1e400)");
    EXPECT_EQ(plan(R"({"payload": {"id": 1}, "created_at": 9223372036854775807})").time, seen_at);
}

TEST(PlanDelay, PayloadThatIsNotAnObjectIsABrokenWrapper) {
    EXPECT_EQ(plan(R"({"payload": 42, "created_at": 1})").problem,
              "delay wrapper field \"payload\" is a number, expected an object");
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    const DelayPlan result = plan(R"({"payload": )" + deep + R"(, "created_at": 1})");
    EXPECT_EQ(result.format, DelayFormat::broken_wrapper);
    EXPECT_EQ(result.problem, "delay wrapper field \"payload\" is an array, expected an object");
}

TEST(PlanDelay, DeepPayloadObjectIsRepublishedWithoutRecursion) {
    std::string deep = R"({"id": 1, "x": )" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
    const DelayPlan result = plan(R"({"created_at": 1700000000, "payload": )" + deep + "}");
    EXPECT_EQ(result.format, DelayFormat::wrapper);
    EXPECT_EQ(result.value, deep);
}

TEST(PlanDelay, KafkaTimestampAtTheEndOfTimeIsInTheFutureNotPast) {
    // kafka::time_from_timestamp(INT64_MAX ms) gives time_point::max().
    const DelayPlan result = plan("1", Clock::time_point::max());
    EXPECT_EQ(result.time, seen_at);
    EXPECT_TRUE(result.time_from_future);
}

TEST(PlanDelay, TimeFarInTheFutureCountsFromWhenSeen) {
    const DelayPlan wrapper = plan(R"({"payload": {"id": 1}, "created_at": 1700009999})");
    EXPECT_EQ(wrapper.time, seen_at);
    EXPECT_TRUE(wrapper.time_from_future);
    const DelayPlan milliseconds = plan(R"({"payload": {"id": 1}, "created_at": 1700000000000})");
    EXPECT_EQ(milliseconds.time, seen_at);
    EXPECT_TRUE(milliseconds.time_from_future);
    const DelayPlan plain = plan("1", seen_at + 1h);
    EXPECT_EQ(plain.time, seen_at);
    EXPECT_TRUE(plain.time_from_future);
}

TEST(PlanDelay, TimeSlightlyInTheFutureIsKept) {
    const DelayPlan result = plan(R"({"payload": {"id": 1}, "created_at": 1700000130})");
    EXPECT_EQ(result.time, Clock::time_point(1'700'000'130s));
    EXPECT_FALSE(result.time_from_future);
}

}  // namespace
}  // namespace indexer::delayer
