// Where the line lies between "this document is bad" (dead letter) and "the
// index refuses the stream" (pause), on the results of successive writes.
#include <indexer/pipeline/pipeline.hpp>
#include <indexer/pipeline/reject_guard.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace indexer;
using namespace indexer::pipeline;
using plugin::OpKind;
using plugin::OpStatus;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The Elasticsearch sink's words for a string in a `long` field; the id and the value vary.
std::string conflict(int id) {
    return "HTTP 400: mapper_parsing_exception: failed to parse field [price] of type [long] in document "
           "with id '" +
           std::to_string(id) + "'. Preview of field's value: '" + std::to_string(id) +
           ",50 EUR' (caused by: illegal_argument_exception: For input string: \"" + std::to_string(id) +
           ",50 EUR\")";
}

// One write: ids and what the sink answered for each.
struct Write {
    std::vector<std::string> ids;
    std::vector<OpKind> kinds;
    std::vector<plugin::SinkResult> results;

    Write& ok(int id, OpKind kind = OpKind::Upsert) { return add(id, kind, {OpStatus::Ok, 200, ""}); }
    Write& reject(int id, std::string message, OpKind kind = OpKind::Upsert) {
        return add(id, kind, {OpStatus::Reject, 400, std::move(message)});
    }
    Write& oks(int from, int to) {
        for (int id = from; id <= to; ++id) ok(id);
        return *this;
    }
    Write& conflicts(int from, int to) {
        for (int id = from; id <= to; ++id) reject(id, conflict(id));
        return *this;
    }
    Write& add(int id, OpKind kind, plugin::SinkResult result) {
        ids.push_back(std::to_string(id));
        kinds.push_back(kind);
        results.push_back(std::move(result));
        return *this;
    }
    std::size_t count(OpStatus status) const {
        std::size_t n = 0;
        for (const auto& result : results) n += result.status == status ? 1 : 0;
        return n;
    }
};

class RejectGuardTest : public ::testing::Test {
protected:
    // Runs `write` through the guard (its results are changed in place).
    Write& review(RejectGuard& guard, Write& write) {
        std::vector<plugin::SinkOp> ops;
        for (std::size_t i = 0; i < write.ids.size(); ++i)
            ops.push_back({write.kinds[i], write.ids[i], "{}", 0, {}});
        guard.review(ops, write.results);
        return write;
    }
    PipelineStats stats_;
};

TEST(NormaliseReason, BlanksTheDocumentsIdAndValueAndKeepsTheField) {
    EXPECT_EQ(normalise_reason(conflict(7)), normalise_reason(conflict(123456)));
    EXPECT_EQ(
        normalise_reason(conflict(7)),
        "HTTP #: mapper_parsing_exception: failed to parse field [price] of type [long] in document with "
        "id ''. Preview of field's value: ''");
    EXPECT_NE(
        normalise_reason(conflict(7)),
        normalise_reason("HTTP 400: mapper_parsing_exception: failed to parse field [sku] of type [long] in "
                         "document with id '7'. Preview of field's value: 'x'"));
    // Elasticsearch 8 prefixes the position in the document.
    EXPECT_EQ(normalise_reason("document_parsing_exception: [1:17] failed to parse field [n]"),
              normalise_reason("document_parsing_exception: [1:4] failed to parse field [n]"));
}

TEST_F(RejectGuardTest, ADocumentRejectedAmongGoodOnesIsDeadLettered) {
    RejectGuard guard("products", 20, stats_);
    Write write;
    write.oks(1, 50).reject(51, conflict(51)).oks(52, 100);
    review(guard, write);
    EXPECT_EQ(write.count(OpStatus::Reject), 1u);
    EXPECT_EQ(write.results[50].message, conflict(51));
    EXPECT_EQ(guard.held(), 0u);
}

TEST_F(RejectGuardTest, ManyDocumentsRejectedForOneReasonInOneWriteAreHeldInsteadOfDeadLettered) {
    RejectGuard guard("products", 20, stats_);
    Write write;
    write.conflicts(1, 30);
    review(guard, write);
    EXPECT_EQ(write.count(OpStatus::Retry), 30u);  // the first ones too
    EXPECT_EQ(write.count(OpStatus::Reject), 0u);
    EXPECT_THAT(write.results[0].message,
                StartsWith("held, not dead-lettered: 30 documents rejected for the same reason: HTTP 400: "
                           "mapper_parsing_exception"));
    EXPECT_EQ(guard.held(), 30u);
    EXPECT_EQ(stats_.held_rejects.load(), 30u);
}

TEST_F(RejectGuardTest, OneDocumentShortOfTheThresholdIsStillDeadLettered) {
    RejectGuard guard("products", 20, stats_);
    Write write;
    write.conflicts(1, 19);
    review(guard, write);
    EXPECT_EQ(write.count(OpStatus::Reject), 19u);
}

TEST_F(RejectGuardTest, TheThresholdIsCountedAcrossBatchesOfOneSoBatchSizeDoesNotMatter) {
    RejectGuard guard("products", 20, stats_);
    for (int id = 1; id <= 19; ++id) {
        Write one;
        one.conflicts(id, id);
        EXPECT_EQ(review(guard, one).results[0].status, OpStatus::Reject) << id;
    }
    Write twentieth;
    twentieth.conflicts(20, 20);
    EXPECT_EQ(review(guard, twentieth).results[0].status, OpStatus::Retry);
}

TEST_F(RejectGuardTest, TheSameDocumentRejectedAgainAndAgainCountsOnce) {
    RejectGuard guard("products", 20, stats_);
    for (int attempt = 0; attempt < 100; ++attempt) {
        Write one;
        one.conflicts(7, 7);
        EXPECT_EQ(review(guard, one).results[0].status, OpStatus::Reject) << attempt;
    }
}

TEST_F(RejectGuardTest, ABadBatchOfOneBetweenGoodBatchesIsDeadLetteredEveryTime) {
    RejectGuard guard("products", 2, stats_);
    for (int id = 1; id <= 20; id += 2) {
        Write bad;
        bad.conflicts(id, id);
        EXPECT_EQ(review(guard, bad).results[0].status, OpStatus::Reject) << id;
        Write good;
        good.oks(id + 1, id + 1);
        review(guard, good);
    }
}

TEST_F(RejectGuardTest, AReasonThatGoodWritesOutnumberNeverPauses) {
    RejectGuard guard("products", 20, stats_);
    Write write;
    for (int id = 1; id <= 200; ++id) id % 3 == 0 ? write.reject(id, conflict(id)) : write.ok(id);
    review(guard, write);
    EXPECT_EQ(write.count(OpStatus::Reject), 66u);  // a third of them: dead letters, no pause
}

TEST_F(RejectGuardTest, AReasonThatOutnumbersGoodWritesPauses) {
    RejectGuard guard("products", 20, stats_);
    Write write;
    for (int id = 1; id <= 200; ++id) id % 3 == 0 ? write.ok(id) : write.reject(id, conflict(id));
    review(guard, write);
    EXPECT_EQ(write.count(OpStatus::Retry), 134u);
}

TEST_F(RejectGuardTest, DifferentReasonsAreCountedApart) {
    RejectGuard guard("products", 20, stats_);
    Write write;
    for (int id = 1; id <= 30; ++id) {
        write.reject(id, "HTTP 400: mapper_parsing_exception: failed to parse field [f" +
                             std::string(1, char('a' + id % 26)) + "] of type [long]");
    }
    review(guard, write);
    EXPECT_EQ(write.count(OpStatus::Reject), 30u);
}

TEST_F(RejectGuardTest, TheHeldDocumentsGoThroughOnceTheIndexAcceptsThemAndThePauseEnds) {
    RejectGuard guard("products", 20, stats_);
    Write first;
    first.conflicts(1, 25);
    review(guard, first);
    ASSERT_EQ(first.count(OpStatus::Retry), 25u);
    // Retried while the mapping is not fixed: still held.
    Write again;
    again.conflicts(1, 25);
    EXPECT_EQ(review(guard, again).count(OpStatus::Retry), 25u);
    // The operator fixed the mapping.
    Write fixed;
    fixed.oks(1, 25);
    review(guard, fixed);
    EXPECT_EQ(guard.held(), 0u);
    EXPECT_EQ(stats_.held_rejects.load(), 0u);
    // The pause is over: a later single bad document is dead-lettered.
    Write later;
    later.oks(26, 40).reject(41, conflict(41));
    EXPECT_EQ(review(guard, later).results.back().status, OpStatus::Reject);
}

TEST_F(RejectGuardTest, AHoldEndsWhenAWriteNoLongerCarriesItsDocuments) {
    RejectGuard guard("products", 20, stats_);
    Write first;
    first.conflicts(1, 25);
    review(guard, first);
    // The held ops' partition was revoked: the next batch has other documents.
    Write next;
    next.reject(100, conflict(100));
    EXPECT_EQ(review(guard, next).results[0].status, OpStatus::Reject);
}

TEST_F(RejectGuardTest, DeletesAreNotCountedAgainstUpserts) {
    RejectGuard guard("products", 20, stats_);
    Write write;
    write.conflicts(1, 25);
    for (int id = 100; id < 200; ++id) write.ok(id, OpKind::Delete);
    review(guard, write);
    EXPECT_EQ(write.count(OpStatus::Retry), 25u);
}

TEST_F(RejectGuardTest, TheThresholdSetsTheLineAndZeroDeadLettersEverything) {
    for (const auto& [threshold, expected] : std::vector<std::pair<std::size_t, OpStatus>>{
             {5, OpStatus::Retry}, {20, OpStatus::Reject}, {0, OpStatus::Reject}}) {
        RejectGuard guard("products", threshold, stats_);
        Write write;
        write.conflicts(1, 10);
        review(guard, write);
        EXPECT_EQ(write.results[0].status, expected) << threshold;
    }
    RejectGuard off("products", 0, stats_);
    Write many;
    many.conflicts(1, 10'000);
    EXPECT_EQ(review(off, many).count(OpStatus::Reject), 10'000u);
}

}  // namespace
