// What `indexer dead-letters --replay` has done so far, kept in Kafka as the
// committed offsets of the consumer group "<pipeline>.dead-letters-replay" on
// the dead-letter topic (a group without members: only its offsets are used).
//
// Per partition, the committed offset is the position up to which the letters
// were handled (replayed, or skipped for good because they cannot be replayed
// or belong to another pipeline). Letters below it that a replay left alone
// because they did not match its --reason are "pending": their offset ranges
// travel in the commit's metadata ("pending=12-40,97"), so that a later replay
// (with another reason, or none) still finds them while a repeated one skips
// everything it already published.
//
// A replay commits after its produced messages were acknowledged: a crash in
// between publishes those letters again on the next run (at-least-once, which
// the indexer tolerates: it reloads the rows). When the pending ranges of a
// partition do not fit the metadata (max_metadata_bytes), the committed offset
// stops at the first range that does not fit: the letters after it are looked
// at again, and those replayed in between are published again.
#pragma once

#include <indexer/dead_letters/letter.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::dead_letters {

// Kafka brokers accept 4096 bytes of offset metadata by default.
inline constexpr std::size_t max_metadata_bytes = 3000;

struct OffsetRange {
    std::int64_t first = 0;
    std::int64_t last = 0;  // inclusive

    friend bool operator==(const OffsetRange&, const OffsetRange&) = default;
};

// The replay position of one partition of the dead-letter topic.
struct ReplayPosition {
    std::int64_t next_offset = 0;      // every letter below it was handled, except the pending ones
    std::vector<OffsetRange> pending;  // below next_offset, ascending, not overlapping

    bool handled(std::int64_t offset) const;
    friend bool operator==(const ReplayPosition&, const ReplayPosition&) = default;
};

// "pending=3-5,9" (empty when nothing is pending).
std::string encode_pending(const std::vector<OffsetRange>& pending);
// The ranges of encode_pending's text; nullopt for any other text (a commit
// that is not ours: then nothing counts as pending).
std::optional<std::vector<OffsetRange>> decode_pending(std::string_view metadata);

// What a replay does with one letter.
enum class ReplayChoice {
    replay,            // publish it again to the pipeline's topic
    already_replayed,  // handled by an earlier replay
    cannot_replay,     // key, value or headers were left out of the copy
    not_selected,      // its reason does not contain the --reason text
    other_pipeline,    // written by another pipeline or a delayer sharing the topic
};

std::string_view to_string(ReplayChoice choice);

// `reason_filter` empty: every letter is selected; else the letters whose
// reason contains it (case-sensitive).
ReplayChoice choose(const Letter& letter, const ReplayPosition& position, std::string_view pipeline,
                    std::string_view reason_filter);

// Builds the new positions while a replay reads the topic in offset order per
// partition: every letter read is recorded as handled or not.
class ReplayLedger {
public:
    explicit ReplayLedger(std::map<std::int32_t, ReplayPosition> committed = {});

    // The committed position of `partition` (nothing handled when none).
    const ReplayPosition& committed(std::int32_t partition) const;
    // `handled`: replayed now or before, or skipped for good.
    void record(std::int32_t partition, std::int64_t offset, bool handled);
    // The positions to commit for the partitions recorded so far, each with
    // its pending ranges fitting max_metadata_bytes.
    std::map<std::int32_t, ReplayPosition> positions() const;

private:
    std::map<std::int32_t, ReplayPosition> committed_;
    struct Progress {
        std::int64_t next_offset = 0;
        std::vector<OffsetRange> pending;
    };
    std::map<std::int32_t, Progress> progress_;
};

}  // namespace indexer::dead_letters
