// Human-friendly quantities in the configuration file: durations ("500ms",
// "5s", "1m30s") and sizes ("5MiB", "512KiB", "10MB").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace indexer::config {

// Every duration of the configuration, at the resolution it is written in.
using Duration = std::chrono::milliseconds;

// One or more <integer><unit> parts with the units ms, s, m, h, d ("1m30s");
// "0" alone is zero. Nothing else (no bare numbers, no fractions, no signs),
// so that "5" is never silently five milliseconds.
std::optional<Duration> parse_duration(std::string_view text);
// The shortest form parse_duration reads back: 90000ms -> "1m30s", 0 -> "0s".
std::string format_duration(Duration duration);

// An integer with an optional unit: B, kB/KB, MB, GB, TB (powers of 1000) or
// KiB, MiB, GiB, TiB (powers of 1024); a space between them is allowed.
std::optional<std::uint64_t> parse_size(std::string_view text);
// The largest binary unit that divides the value exactly: 5242880 -> "5MiB".
std::string format_size(std::uint64_t bytes);

}  // namespace indexer::config
