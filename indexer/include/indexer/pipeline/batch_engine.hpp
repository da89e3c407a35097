// The staged engine of a pipeline (DESIGN.md §3): several batches in flight,
// each going through
//
//   fetch (the caller's thread) ─▶ reload (`loaders` threads) ─▶ write (one thread) ─▶ commit (caller's
//   thread)
//
// so that batch N+1 is fetched and reloaded while batch N is written.
//
// Invariants, each proven by tests/unit/pipeline/batch_engine_test.cpp:
//  * a batch's offsets are committed only once every op of it is settled (OK,
//    or dead-lettered and the dead letters acknowledged) and, per partition,
//    only when every earlier batch of that partition has settled too;
//  * writes of one id reach the sink in the order of the batches' loads: the
//    writer takes batches in order, and a batch that shares an id with a batch
//    still loading waits for that load, so its snapshot is the newer one;
//  * nothing is committed or written for a partition that was revoked: the
//    revocation marks the in-flight work of those partitions dropped (and
//    interrupts a write that holds some of it) before it returns;
//  * batches are cut when full (count or bytes), when their first message
//    has waited `max_wait`, or at once when no batch waits to be loaded or
//    written: small batches while the pipeline keeps up (freshness), large
//    ones under load (throughput);
//  * memory is bounded: a new batch is admitted only while the batches in
//    flight hold fewer than `max_bytes_in_flight` bytes (messages and
//    documents) and fewer than `max_batches_in_flight` batches; while the
//    budget is spent for long, the transport is paused and still polled;
//  * a failure is a value: a message that cannot be parsed is dead-lettered,
//    a failed reload or write is retried with backoff, an exception from a
//    stage is caught and retried, and none ends the process.
//
// The engine talks to the id transport, the row source, the sink and the
// dead-letter output through the interfaces below, so that it runs on fakes in
// unit tests and on Kafka, PostgreSQL and a plugin in the product.
#pragma once

#include <indexer/kafka/dead_letter.hpp>
#include <indexer/kafka/message.hpp>
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/postgres/batch_loader.hpp>
#include <indexer/util/status.hpp>
#include <indexer/util/stop_signal.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace indexer::metrics {
class PipelineMetrics;
}

namespace indexer::pipeline {

struct PipelineStats;

// Where the ids come from (a Kafka consumer group today). Used by the engine's
// fetching thread only; rebalances are reported to the engine's on_assigned /
// on_revoked from inside poll() on that thread.
class IdTransport {
public:
    virtual ~IdTransport() = default;
    // Up to `max_messages` messages or `max_bytes` bytes, waiting at most
    // `max_wait`; returns early once it has messages and no more are waiting
    // to be read. An error only when the transport cannot go on (a retryable
    // one is logged and polling goes on).
    virtual Result<std::vector<kafka::Message>> poll(std::size_t max_messages, std::size_t max_bytes,
                                                     std::chrono::milliseconds max_wait) = 0;
    // The next offset to read, per partition. Refused for partitions not owned.
    virtual Status commit(const std::map<kafka::TopicPartition, std::int64_t>& next_offsets) = 0;
    // Stop or restart fetching of every assigned partition (also of ones
    // assigned later); polling goes on and keeps the membership.
    virtual Status pause() = 0;
    virtual Status resume() = 0;
};

// Where the rows are reloaded from. Thread-safe: several loads run at once.
class RowSource {
public:
    virtual ~RowSource() = default;
    virtual std::string name() const = 0;  // "PostgreSQL", in log lines
    virtual Result<postgres::LoadedBatch> load(std::span<const std::string> ids) = 0;
};

// Where the documents go. Used by the writing thread only.
class DocumentSink {
public:
    virtual ~DocumentSink() = default;
    virtual std::string name() const = 0;
    virtual std::vector<plugin::SinkResult> write(std::span<const plugin::SinkOp> ops,
                                                  const plugin::WriteControl& control) = 0;
    // Called after a batch's writes and before its offsets are committed; a
    // failure makes the engine write the batch's ops again.
    virtual Status flush() = 0;
};

// Where dead letters go; returns once every letter is acknowledged.
class DeadLetterOutput {
public:
    virtual ~DeadLetterOutput() = default;
    virtual Status publish(const std::vector<kafka::DeadLetter>& letters) = 0;
};

struct EngineOptions {
    std::string name;  // the pipeline, in every log line
    std::string id_field = "id";
    // Cutting batches.
    std::size_t max_messages = 1000;
    std::size_t max_bytes = std::size_t{1} << 20;
    std::chrono::milliseconds max_wait{500};
    // Batches in flight and their bytes (messages and documents).
    std::size_t max_batches_in_flight = 4;
    std::size_t max_bytes_in_flight = std::size_t{36} << 20;
    std::size_t loaders = 4;  // reloads at once
    // Backoff of failed reloads, writes and dead-letter publications.
    std::chrono::milliseconds retry_initial{100};
    std::chrono::milliseconds retry_max{30'000};
    // Rejects of one reason on this many documents pause instead of dead-lettering (reject_guard.hpp); 0 =
    // never.
    std::size_t pause_after_same_rejects = 20;
    // How long fetching waits for room before it pauses the transport.
    std::chrono::milliseconds pause_after{1000};
    // The longest a poll blocks: commits and stop requests are seen this often.
    std::chrono::milliseconds poll_slice{100};
};

class BatchEngine {
public:
    // Every reference must outlive the engine.
    BatchEngine(EngineOptions options, IdTransport& transport, RowSource& source, DocumentSink& sink,
                DeadLetterOutput& dead_letters, PipelineStats& stats, metrics::PipelineMetrics& metrics);
    ~BatchEngine();
    BatchEngine(const BatchEngine&) = delete;
    BatchEngine& operator=(const BatchEngine&) = delete;

    // Fetches on the calling thread until `stop` is requested, then finishes
    // the batches in flight (or gives them up uncommitted once the grace is
    // over), commits what settled and returns. An error only when the
    // transport failed for good.
    Status run(StopSignal& stop);

    // Rebalance notifications, called by the transport inside poll().
    void on_assigned(const std::vector<kafka::TopicPartition>& partitions);
    void on_revoked(const std::vector<kafka::TopicPartition>& partitions, bool lost);

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace indexer::pipeline
