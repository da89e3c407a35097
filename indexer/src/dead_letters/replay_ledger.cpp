#include <indexer/dead_letters/replay_ledger.hpp>

#include <algorithm>
#include <charconv>

namespace indexer::dead_letters {
namespace {

constexpr std::string_view kPendingPrefix = "pending=";

std::string encode_range(const OffsetRange& range) {
    if (range.first == range.last) return std::to_string(range.first);
    return std::to_string(range.first) + "-" + std::to_string(range.last);
}

std::optional<std::int64_t> parse_offset(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
    return value;
}

void add_offset(std::vector<OffsetRange>& ranges, std::int64_t offset) {
    if (!ranges.empty() && ranges.back().last + 1 == offset) {
        ranges.back().last = offset;
        return;
    }
    ranges.push_back({offset, offset});
}

}  // namespace

bool ReplayPosition::handled(std::int64_t offset) const {
    if (offset >= next_offset) return false;
    const auto after =
        std::upper_bound(pending.begin(), pending.end(), offset,
                         [](std::int64_t value, const OffsetRange& range) { return value < range.first; });
    return after == pending.begin() || std::prev(after)->last < offset;
}

std::string encode_pending(const std::vector<OffsetRange>& pending) {
    if (pending.empty()) return {};
    std::string text(kPendingPrefix);
    for (std::size_t i = 0; i < pending.size(); ++i) text += (i > 0 ? "," : "") + encode_range(pending[i]);
    return text;
}

std::optional<std::vector<OffsetRange>> decode_pending(std::string_view metadata) {
    std::vector<OffsetRange> ranges;
    if (metadata.empty()) return ranges;
    if (!metadata.starts_with(kPendingPrefix)) return std::nullopt;
    metadata.remove_prefix(kPendingPrefix.size());
    while (!metadata.empty()) {
        const auto comma = metadata.find(',');
        const std::string_view item = metadata.substr(0, comma);
        metadata = comma == std::string_view::npos ? std::string_view{} : metadata.substr(comma + 1);
        if (comma != std::string_view::npos && metadata.empty()) return std::nullopt;
        const auto dash = item.find('-');
        const auto first = parse_offset(item.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : parse_offset(item.substr(dash + 1));
        if (!first || !last || *last < *first) return std::nullopt;
        if (!ranges.empty() && ranges.back().last >= *first) return std::nullopt;
        ranges.push_back({*first, *last});
    }
    return ranges;
}

std::string_view to_string(ReplayChoice choice) {
    switch (choice) {
        case ReplayChoice::replay:
            return "replay";
        case ReplayChoice::already_replayed:
            return "already replayed";
        case ReplayChoice::cannot_replay:
            return "cannot be replayed";
        case ReplayChoice::not_selected:
            return "not selected";
        case ReplayChoice::other_pipeline:
            return "other pipeline";
    }
    return "unknown";
}

ReplayChoice choose(const Letter& letter, const ReplayPosition& position, std::string_view pipeline,
                    std::string_view reason_filter) {
    if (letter.pipeline != pipeline) return ReplayChoice::other_pipeline;
    if (!letter.replayable()) return ReplayChoice::cannot_replay;
    if (position.handled(letter.offset)) return ReplayChoice::already_replayed;
    if (!reason_filter.empty() && letter.reason.find(reason_filter) == std::string::npos)
        return ReplayChoice::not_selected;
    return ReplayChoice::replay;
}

ReplayLedger::ReplayLedger(std::map<std::int32_t, ReplayPosition> committed)
    : committed_(std::move(committed)) {}

const ReplayPosition& ReplayLedger::committed(std::int32_t partition) const {
    static const ReplayPosition nothing_handled;
    const auto found = committed_.find(partition);
    return found == committed_.end() ? nothing_handled : found->second;
}

void ReplayLedger::record(std::int32_t partition, std::int64_t offset, bool handled) {
    Progress& progress = progress_[partition];
    progress.next_offset = std::max(progress.next_offset, offset + 1);
    if (!handled) add_offset(progress.pending, offset);
}

std::map<std::int32_t, ReplayPosition> ReplayLedger::positions() const {
    std::map<std::int32_t, ReplayPosition> result;
    for (const auto& [partition, progress] : progress_) {
        ReplayPosition position{progress.next_offset, {}};
        std::vector<OffsetRange> fitting;
        std::size_t bytes = kPendingPrefix.size();
        for (const OffsetRange& range : progress.pending) {
            bytes += encode_range(range).size() + (fitting.empty() ? 0 : 1);
            if (bytes > max_metadata_bytes) {
                // The rest is looked at again by the next replay.
                position.next_offset = range.first;
                break;
            }
            fitting.push_back(range);
        }
        position.pending = std::move(fitting);
        result.emplace(partition, std::move(position));
    }
    return result;
}

}  // namespace indexer::dead_letters
