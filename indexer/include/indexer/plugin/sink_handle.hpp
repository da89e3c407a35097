// One open sink: what the core writes ops through. Owns the plugin's handle
// and closes it when destroyed.
#pragma once

#include <indexer/sink_plugin.h>
#include <indexer/util/status.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::plugin {

class SinkPlugin;

enum class OpKind : std::uint32_t { Upsert = INDEXER_SINK_UPSERT, Delete = INDEXER_SINK_DELETE };

// One operation. The views must stay valid for the duration of write().
struct SinkOp {
    OpKind kind = OpKind::Upsert;
    std::string_view id;
    std::string_view document;  // JSON object; UPSERT only
    std::uint64_t version = 0;  // 0 = none
    std::string_view target;    // index/collection override; empty = the sink's default
};

enum class OpStatus : std::uint32_t {
    Ok = INDEXER_SINK_OK,          // written (or already newer / already absent)
    Retry = INDEXER_SINK_RETRY,    // transient: write it again later
    Reject = INDEXER_SINK_REJECT,  // permanent: dead-letter it
};

std::string_view to_string(OpStatus status) noexcept;

// The outcome of one op. Owns its message (copied out of the plugin, whose
// strings only live until its next call).
struct SinkResult {
    OpStatus status = OpStatus::Retry;
    int native_code = 0;  // HTTP status, memcached return code...; 0 = none
    std::string message;  // why, for RETRY and REJECT
};

// The answer for one id of a read (sink ABI 1.2).
enum class ReadStatus : std::uint32_t {
    Found = INDEXER_SINK_OK,
    NotFound = INDEXER_SINK_NOT_FOUND,
    Retry = INDEXER_SINK_RETRY,    // not known now: read it again later
    Reject = INDEXER_SINK_REJECT,  // the sink can never hold this id
};

std::string_view to_string(ReadStatus status) noexcept;

// What the sink holds under one id. Owns its bytes (copied out of the plugin).
struct ReadResult {
    ReadStatus status = ReadStatus::Retry;
    int native_code = 0;
    std::string message;        // why, for RETRY and REJECT
    std::string document;       // Found: the stored document as the backend returns it
    std::uint64_t version = 0;  // Found: the stored version; 0 = none or unknown
};

// One page of a listing (sink ABI 1.2).
//   Ok: `ids` (at most max_ids) and the cursor of the next page, empty
//       when the listing is complete.
//   Retry: no page now; list the same cursor again later.
//   Reject: the cursor cannot be continued; list again from an empty cursor.
struct ListPage {
    OpStatus status = OpStatus::Retry;
    int native_code = 0;
    std::string message;  // why, for RETRY and REJECT
    std::vector<std::string> ids;
    std::string next_cursor;
    // Entries of the sink in this page that cannot be named by an id.
    std::uint64_t unlisted = 0;

    bool is_last() const noexcept { return status == OpStatus::Ok && next_cursor.empty(); }
};

// How long one call may take. The defaults: no deadline, no stop.
struct WriteControl {
    // By then the write returns; ops not finished come back RETRY saying so.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    const std::atomic<bool>* stop = nullptr;  // another thread sets it: return as soon as possible
};

// Move-only. Used by one thread at a time (the ABI's rule); distinct handles
// of one plugin may be used from distinct threads at once.
class SinkHandle {
public:
    SinkHandle(SinkHandle&& other) noexcept;
    SinkHandle& operator=(SinkHandle&& other) noexcept;
    SinkHandle(const SinkHandle&) = delete;
    SinkHandle& operator=(const SinkHandle&) = delete;
    ~SinkHandle();

    // One result per op, at the same index. A result the plugin left unset
    // or gave an invalid status (plugin defects) comes back as RETRY saying
    // so, and is logged and counted.
    //
    // `control` reaches a plugin of ABI 1.1+ with write_with_control; a
    // plugin without it (ABI 1.0) is called through plain write, which
    // cannot be interrupted: the call returns when the plugin does. Either
    // way, when stop is already set or the deadline already passed, no
    // plugin is called and every op is RETRY.
    std::vector<SinkResult> write(std::span<const SinkOp> ops, const WriteControl& control = {});
    // What the sink holds under each id, one result per id, at the same
    // index (sink ABI 1.2). `target` overrides the sink's index/collection.
    // `control` bounds the call as it bounds a write: past the deadline or
    // after stop, ids without an answer are RETRY (and when the deadline
    // already passed, or stop is set, no plugin is called). Results the
    // plugin left unset or gave an invalid status come back RETRY saying so.
    // An error, naming the plugin, when the plugin cannot read (a plugin of
    // ABI 1.0 or 1.1, or one without read) or the handle is closed.
    Result<std::vector<ReadResult>> read(std::span<const std::string_view> ids, std::string_view target = {},
                                         const WriteControl& control = {});
    // One page of at most `max_ids` (>= 1) ids of the listing that `cursor`
    // continues (empty: a new listing) (sink ABI 1.2). Errors as for read.
    Result<ListPage> list(std::string_view cursor, std::size_t max_ids, std::string_view target = {},
                          const WriteControl& control = {});

    // Creates a new, empty physical target behind the sink's default name,
    // named from `suffix` (sink ABI 1.3), and returns its name (what ops carry
    // as `target`). The plugin's RETRY is a retryable error (the request may
    // have reached the backend: ask again with a new suffix), its REJECT a
    // plain one; both carry the plugin's message. Bounded by `control` like a
    // write. An error, naming the plugin and its ABI, when the plugin has no
    // create_target (older than ABI 1.3, or a sink without targets such as a
    // cache) or the handle is closed.
    Result<std::string> create_target(std::string_view suffix, const WriteControl& control = {});
    // Points the sink's default name at `target` alone, atomically, and
    // unless `keep_old` removes what it pointed to before (sink ABI 1.3).
    // Returns those previous targets, comma-separated (empty: the name did
    // not exist). A warning the plugin gives with OK (old targets it could
    // not remove) is logged. Errors as for create_target; RETRY is safe to
    // ask again.
    Result<std::string> switch_target(std::string_view target, bool keep_old,
                                      const WriteControl& control = {});

    // OK when the plugin has no flush.
    Status flush();
    // OK when the plugin has no health probe.
    Status health();

    bool has_flush() const noexcept;
    // True when the plugin honours WriteControl (it has write_with_control).
    bool has_write_control() const noexcept;
    bool has_health() const noexcept;
    bool has_read() const noexcept;
    bool has_list() const noexcept;
    bool has_create_target() const noexcept;
    bool has_switch_target() const noexcept;
    bool is_open() const noexcept { return plugin_ != nullptr; }
    const std::string& instance() const noexcept { return instance_; }
    const SinkPlugin& plugin() const noexcept { return *plugin_; }
    // How many results this handle's plugin left unset so far (should stay 0).
    std::uint64_t results_left_unset() const noexcept { return results_left_unset_; }
    // How many results carried a status outside the ABI's (should stay 0).
    std::uint64_t results_with_invalid_status() const noexcept { return results_with_invalid_status_; }

    // Closes the plugin's handle now; idempotent. The destructor calls it.
    void close() noexcept;

private:
    friend class SinkPlugin;
    SinkHandle(std::shared_ptr<const SinkPlugin> plugin, indexer_sink_handle* raw,
               std::string instance) noexcept;
    Status probe(const char* what, std::uint32_t (*function)(indexer_sink_handle*, char*, std::size_t));
    // Why `what` (read, list...) cannot be called on this handle, or OK.
    // `since_minor`: the ABI 1.x that introduced it.
    Status can_call(std::string_view what, bool present, std::uint16_t since_minor = 2) const;
    // The value of a create_target / switch_target outcome, or its error.
    Result<std::string> target_outcome(std::string_view what, std::uint32_t status, std::int32_t native_code,
                                       const char* message, indexer_plugin_str value) const;

    std::shared_ptr<const SinkPlugin> plugin_;
    indexer_sink_handle* raw_ = nullptr;
    std::string instance_;
    std::uint64_t results_left_unset_ = 0;
    std::uint64_t results_with_invalid_status_ = 0;
    // Reused between calls to spare an allocation per batch.
    std::vector<indexer_sink_op> raw_ops_;
    std::vector<indexer_sink_result> raw_results_;
    std::vector<indexer_str> raw_ids_;
    std::vector<indexer_sink_read_result> raw_read_results_;
};

}  // namespace indexer::plugin
