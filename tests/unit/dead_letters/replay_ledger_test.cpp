#include <indexer/dead_letters/replay_ledger.hpp>

#include <gtest/gtest.h>

namespace indexer::dead_letters {
namespace {

Letter letter_at(std::int32_t partition, std::int64_t offset, std::string reason,
                 std::string pipeline = "p") {
    Letter letter;
    letter.partition = partition;
    letter.offset = offset;
    letter.pipeline = std::move(pipeline);
    letter.stage = "sink-reject";
    letter.reason = std::move(reason);
    return letter;
}

struct ReplayRun {
    std::vector<std::int64_t> replayed;  // offsets
    std::map<std::int32_t, ReplayPosition> positions;
};

// One replay over `letters` (in offset order) as the command runs it.
ReplayRun replay(const std::vector<Letter>& letters, const std::map<std::int32_t, ReplayPosition>& committed,
                 const std::string& reason_filter = {}) {
    ReplayLedger ledger(committed);
    ReplayRun run;
    for (const Letter& letter : letters) {
        const ReplayChoice choice = choose(letter, ledger.committed(letter.partition), "p", reason_filter);
        if (choice == ReplayChoice::replay) run.replayed.push_back(letter.offset);
        ledger.record(letter.partition, letter.offset, choice != ReplayChoice::not_selected);
    }
    run.positions = ledger.positions();
    return run;
}

TEST(PendingRanges, RoundTripThroughTheCommitMetadata) {
    const std::vector<OffsetRange> ranges{{3, 5}, {9, 9}, {12, 40}};
    EXPECT_EQ(encode_pending(ranges), "pending=3-5,9,12-40");
    EXPECT_EQ(decode_pending("pending=3-5,9,12-40"), ranges);
    EXPECT_EQ(encode_pending({}), "");
    EXPECT_EQ(decode_pending(""), std::vector<OffsetRange>{});
}

TEST(PendingRanges, MetadataAReplayDidNotWriteIsNotTakenForRanges) {
    EXPECT_FALSE(decode_pending("written by someone else"));
    EXPECT_FALSE(decode_pending("pending=5-3"));
    EXPECT_FALSE(decode_pending("pending=3,3"));
    EXPECT_FALSE(decode_pending("pending=3,"));
    EXPECT_FALSE(decode_pending("pending=-1"));
}

TEST(ReplayPosition, HandledMeansBelowTheOffsetAndNotPending) {
    const ReplayPosition position{10, {{2, 3}, {7, 7}}};
    EXPECT_TRUE(position.handled(0));
    EXPECT_TRUE(position.handled(1));
    EXPECT_FALSE(position.handled(2));
    EXPECT_FALSE(position.handled(3));
    EXPECT_TRUE(position.handled(4));
    EXPECT_FALSE(position.handled(7));
    EXPECT_TRUE(position.handled(9));
    EXPECT_FALSE(position.handled(10));
}

TEST(Choose, SkipsOtherPipelinesTruncatedLettersAndWhatWasReplayedThenFiltersByReason) {
    const ReplayPosition position{5, {}};
    EXPECT_EQ(choose(letter_at(0, 7, "HTTP 400", "other"), position, "p", ""), ReplayChoice::other_pipeline);
    Letter truncated = letter_at(0, 7, "HTTP 400");
    truncated.left_out = {"value"};
    EXPECT_EQ(choose(truncated, position, "p", ""), ReplayChoice::cannot_replay);
    EXPECT_EQ(choose(letter_at(0, 4, "HTTP 400"), position, "p", ""), ReplayChoice::already_replayed);
    EXPECT_EQ(choose(letter_at(0, 7, "HTTP 400"), position, "p", "mapper"), ReplayChoice::not_selected);
    EXPECT_EQ(choose(letter_at(0, 7, "HTTP 400: mapper_parsing"), position, "p", "mapper"),
              ReplayChoice::replay);
    EXPECT_EQ(choose(letter_at(0, 7, "anything"), position, "p", ""), ReplayChoice::replay);
}

TEST(ReplayLedger, ARepeatedReplayPublishesNothing) {
    const std::vector<Letter> letters{letter_at(0, 0, "a"), letter_at(1, 0, "b"), letter_at(0, 1, "c")};
    const ReplayRun first = replay(letters, {});
    EXPECT_EQ(first.replayed, (std::vector<std::int64_t>{0, 0, 1}));
    EXPECT_EQ(first.positions.at(0), (ReplayPosition{2, {}}));
    EXPECT_EQ(first.positions.at(1), (ReplayPosition{1, {}}));
    EXPECT_TRUE(replay(letters, first.positions).replayed.empty());
}

TEST(ReplayLedger, LettersNotMatchingTheReasonStayPendingForALaterReplay) {
    std::vector<Letter> letters;
    for (std::int64_t offset = 0; offset < 8; ++offset)
        letters.push_back(letter_at(0, offset, offset % 3 == 0 ? "mapping conflict" : "document too large"));
    const ReplayRun conflicts = replay(letters, {}, "mapping");
    EXPECT_EQ(conflicts.replayed, (std::vector<std::int64_t>{0, 3, 6}));
    EXPECT_EQ(conflicts.positions.at(0), (ReplayPosition{8, {{1, 2}, {4, 5}, {7, 7}}}));

    EXPECT_TRUE(replay(letters, conflicts.positions, "mapping").replayed.empty());
    const ReplayRun rest = replay(letters, conflicts.positions);
    EXPECT_EQ(rest.replayed, (std::vector<std::int64_t>{1, 2, 4, 5, 7}));
    EXPECT_EQ(rest.positions.at(0), (ReplayPosition{8, {}}));
    EXPECT_TRUE(replay(letters, rest.positions).replayed.empty());
}

TEST(ReplayLedger, NewLettersAfterAReplayAreReplayedByTheNext) {
    std::vector<Letter> letters{letter_at(0, 0, "a"), letter_at(0, 1, "a")};
    const ReplayRun first = replay(letters, {});
    letters.push_back(letter_at(0, 2, "a"));
    EXPECT_EQ(replay(letters, first.positions).replayed, std::vector<std::int64_t>{2});
}

TEST(ReplayLedger, TooManyPendingRangesMoveTheOffsetBackInsteadOfOverflowingTheMetadata) {
    std::vector<Letter> letters;
    for (std::int64_t offset = 0; offset < 4000; ++offset)
        letters.push_back(letter_at(0, offset, offset % 2 == 0 ? "selected" : "other"));
    const ReplayRun run = replay(letters, {}, "selected");
    const ReplayPosition& position = run.positions.at(0);
    EXPECT_LE(encode_pending(position.pending).size(), max_metadata_bytes);
    EXPECT_LT(position.next_offset, 4000);
    ASSERT_FALSE(position.pending.empty());
    // The offset stops at the first pending letter that did not fit: it is not lost.
    EXPECT_EQ(position.next_offset, position.pending.back().last + 2);
    EXPECT_FALSE(position.handled(position.next_offset));
    // No pending letter is lost: a replay of the others finds every one of them.
    const ReplayRun again = replay(letters, run.positions, "other");
    EXPECT_EQ(again.replayed.size(), 2000u);
}

}  // namespace
}  // namespace indexer::dead_letters
