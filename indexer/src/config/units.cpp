#include <indexer/config/units.hpp>

#include <array>
#include <cctype>
#include <charconv>
#include <limits>

namespace indexer::config {
namespace {

struct Unit {
    std::string_view name;
    std::uint64_t factor;
};

constexpr std::array<Unit, 5> kDurationUnits{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::optional<std::uint64_t> read_number(std::string_view text, std::size_t& position) {
    const std::size_t start = position;
    while (position < text.size() && is_digit(text[position])) ++position;
    if (position == start) return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data() + start, text.data() + position, value);
    if (error != std::errc{} || end != text.data() + position) return std::nullopt;
    return value;
}

std::optional<std::uint64_t> multiply_add(std::uint64_t total, std::uint64_t value, std::uint64_t factor,
                                          std::uint64_t limit) {
    if (value != 0 && factor > limit / value) return std::nullopt;
    if (total > limit - value * factor) return std::nullopt;
    return total + value * factor;
}

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
    if (text == "0") return Duration{0};
    if (text.empty()) return std::nullopt;
    constexpr auto kLimit = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
    std::uint64_t total = 0;
    std::size_t position = 0;
    while (position < text.size()) {
        const auto value = read_number(text, position);
        if (!value) return std::nullopt;
        const std::size_t unit_start = position;
        while (position < text.size() && is_letter(text[position])) ++position;
        const std::string_view unit = text.substr(unit_start, position - unit_start);
        std::optional<std::uint64_t> factor;
        for (const Unit& candidate : kDurationUnits) {
            if (candidate.name == unit) factor = candidate.factor;
        }
        if (!factor) return std::nullopt;
        const auto sum = multiply_add(total, *value, *factor, kLimit);
        if (!sum) return std::nullopt;
        total = *sum;
    }
    return Duration{static_cast<Duration::rep>(total)};
}

std::string format_duration(Duration duration) {
    if (duration.count() == 0) return "0s";
    std::string text;
    auto rest = static_cast<std::uint64_t>(duration.count() < 0 ? -duration.count() : duration.count());
    if (duration.count() < 0) text += '-';
    for (const Unit& unit : kDurationUnits) {
        const std::uint64_t count = rest / unit.factor;
        if (count == 0) continue;
        text += std::to_string(count);
        text += unit.name;
        rest -= count * unit.factor;
    }
    return text;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    static constexpr std::array<Unit, 10> kSizeUnits{{
        {"b", 1},
        {"kb", 1'000},
        {"mb", 1'000'000},
        {"gb", 1'000'000'000},
        {"tb", 1'000'000'000'000},
        {"kib", std::uint64_t{1} << 10},
        {"mib", std::uint64_t{1} << 20},
        {"gib", std::uint64_t{1} << 30},
        {"tib", std::uint64_t{1} << 40},
        {"", 1},
    }};
    std::size_t position = 0;
    const auto value = read_number(text, position);
    if (!value) return std::nullopt;
    const bool spaced = position < text.size() && text[position] == ' ';
    if (spaced) ++position;
    const std::string_view unit = text.substr(position);
    if (spaced && unit.empty()) return std::nullopt;
    for (const Unit& candidate : kSizeUnits) {
        if (equals_ignoring_case(candidate.name, unit)) {
            return multiply_add(0, *value, candidate.factor, std::numeric_limits<std::uint64_t>::max());
        }
    }
    return std::nullopt;
}

std::string format_size(std::uint64_t bytes) {
    static constexpr std::array<Unit, 4> kBinaryUnits{{
        {"TiB", std::uint64_t{1} << 40},
        {"GiB", std::uint64_t{1} << 30},
        {"MiB", std::uint64_t{1} << 20},
        {"KiB", std::uint64_t{1} << 10},
    }};
    if (bytes != 0) {
        for (const Unit& unit : kBinaryUnits) {
            if (bytes % unit.factor == 0) return std::to_string(bytes / unit.factor) + std::string(unit.name);
        }
    }
    return std::to_string(bytes) + "B";
}

}  // namespace indexer::config
