// Tells a document the sink refuses from an index that refuses a whole stream
// (docs/engine.md, "Rejections: one document or the whole stream").
//
// A REJECT is dead-lettered: right for one bad document, wrong when a schema
// change makes the index refuse every document of the stream for one and the
// same reason (a mapping conflict, a strict mapping meeting a new column). The
// guard looks at the results of every write of the pipeline, across batches,
// and groups rejections by op kind and normalised reason (the sink's message
// with quoted text and numbers blanked, up to its "(caused by"). A reason
// pauses the pipeline once
//
//   it has refused at least `threshold` distinct documents, and more documents
//   than the sink wrote OK (same op kind) since the reason first appeared;
//
// its REJECTs then become RETRY ("held"), so the engine retries them with
// backoff while the partitions are paused, until
//
//   * a held document is written OK: the operator fixed the index (the pause
//     ends and the held documents go through), or
//   * a write holds none of its held documents any more (they settled another
//     way or their partition was revoked): the next batch starts afresh.
//
// A reason that the sink's OK writes outnumber is forgotten: one bad document
// among good ones, or a batch of one between good batches, is dead-lettered
// and never stalls the pipeline, whatever the batch size. With batches smaller
// than `threshold`, the first `threshold - 1` documents of a stream-wide
// rejection are dead-lettered before the pause (they can be replayed).
//
// Used by the engine's writing thread only; the stats it updates are atomic.
#pragma once

#include <indexer/plugin/sink_handle.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

namespace indexer::pipeline {

struct PipelineStats;

class RejectGuard {
public:
    // `threshold` 0: never pauses (every REJECT is dead-lettered).
    RejectGuard(std::string pipeline, std::size_t threshold, PipelineStats& stats);

    // Reviews the results of one write of `ops` in place: a REJECT whose reason
    // pauses the pipeline becomes RETRY, its message saying so. Logs when a
    // pause starts and ends.
    void review(std::span<const plugin::SinkOp> ops, std::span<plugin::SinkResult> results);

    // Ops held by the last review.
    std::size_t held() const noexcept { return held_; }

private:
    struct Streak {
        plugin::OpKind kind = plugin::OpKind::Upsert;
        std::string example;                        // a full message, for the log
        std::unordered_set<std::string> documents;  // distinct ids refused (up to kMaxDocuments)
        std::uint64_t refused = 0;                  // distinct documents refused
        std::uint64_t accepted = 0;                 // ops of the kind written OK since it appeared
        bool holding = false;
        std::unordered_set<std::string> held;  // ids whose REJECT became RETRY
    };

    void end_hold(std::map<std::string, Streak>::iterator streak, std::string_view why);
    void evict_if_full();

    std::string pipeline_;
    std::size_t threshold_;
    PipelineStats& stats_;
    std::map<std::string, Streak> streaks_;  // by kind and normalised reason
    std::size_t held_ = 0;
};

// The part of a sink's message that names the reason rather than the
// document: quoted text blanked, digit runs as '#', cut before "(caused by".
std::string normalise_reason(std::string_view message);

}  // namespace indexer::pipeline
