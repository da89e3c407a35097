// C++ convenience layer over the sink plugin C ABI (<indexer/sink_plugin.h>).
//
// An author writes one class and exports it with one macro:
//
//   class FileSink : public indexer::sdk::Sink {
//    public:
//     // Throws (any std::exception) on bad configuration; what() is shown to
//     // the user next to the pipeline name.
//     FileSink(std::string_view instance, std::string_view config_json);
//     void write(std::span<const indexer::sdk::Op> ops, indexer::sdk::Results& results) override;
//   };
//   INDEXER_SINK_PLUGIN(FileSink, "file", "1.0.0")
//
// Use the macro once per plugin, at global scope, in one .cpp file.
//
// A sink that can also give back what it holds (ABI 1.2, for `indexer
// verify`) overrides read and list as well; the macro offers them to the
// host only when the class overrides them:
//
//     void read(std::span<const std::string_view> ids, std::string_view target,
//               indexer::sdk::ReadResults& results, const indexer::sdk::WriteControl& control) override;
//     void list(std::string_view cursor, std::string_view target, indexer::sdk::ListPage& page,
//               const indexer::sdk::WriteControl& control) override;
//
// A sink with names that resolve to physical targets (ABI 1.3, for `indexer
// reindex`) overrides create_target and switch_target; the macro offers
// each to the host only when the class overrides it:
//
//     void create_target(std::string_view suffix, indexer::sdk::TargetResult& result,
//                        const indexer::sdk::WriteControl& control) override;
//     void switch_target(std::string_view target, bool keep_old, indexer::sdk::TargetResult& result,
//                        const indexer::sdk::WriteControl& control) override;
//
// A sink that can wait (on a network, a disk) overrides write_with_control
// instead of write: it gets a WriteControl with the call's deadline and the
// host's "stop now", bounds every wait by them, and returns early when
// control.interrupted() says so. It may leave the ops it did not finish
// unanswered: the glue marks them RETRY with the reason. A sink that
// overrides only write still builds and works; its writes just cannot be
// interrupted.
//
// The macro's glue catches every exception so that none crosses the C
// boundary: a throwing constructor becomes an open error, a throwing write
// marks every op it had not answered yet RETRY with the exception's message.
//
// Header-only; needs C++20. Build plugins with hidden visibility
// (CXX_VISIBILITY_PRESET hidden): only the two entry symbols need exporting.
#ifndef INDEXER_SINK_HPP
#define INDEXER_SINK_HPP

#include <indexer/sink_plugin.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace indexer::sdk {

enum class OpKind : std::uint32_t { Upsert = INDEXER_SINK_UPSERT, Delete = INDEXER_SINK_DELETE };

enum class Status : std::uint32_t {
    Unset = INDEXER_SINK_UNSET,
    Ok = INDEXER_SINK_OK,
    Retry = INDEXER_SINK_RETRY,
    Reject = INDEXER_SINK_REJECT,
    NotFound = INDEXER_SINK_NOT_FOUND,  // read results only
};

enum class LogLevel {
    Debug = INDEXER_LOG_DEBUG,
    Info = INDEXER_LOG_INFO,
    Warn = INDEXER_LOG_WARN,
    Error = INDEXER_LOG_ERROR
};

inline std::string_view view(indexer_str s) noexcept {
    return s.size == 0 ? std::string_view{} : std::string_view{s.data, s.size};
}

// A read-only view of one op. Valid only during the write call.
class Op {
public:
    explicit Op(const indexer_sink_op& raw) noexcept : raw_(&raw) {}
    OpKind kind() const noexcept { return static_cast<OpKind>(raw_->kind); }
    bool is_upsert() const noexcept { return raw_->kind == INDEXER_SINK_UPSERT; }
    bool is_delete() const noexcept { return raw_->kind == INDEXER_SINK_DELETE; }
    std::string_view id() const noexcept { return view(raw_->id); }
    std::string_view document() const noexcept { return view(raw_->document); }
    std::uint64_t version() const noexcept { return raw_->version; }
    std::string_view target() const noexcept { return view(raw_->target); }
    const indexer_sink_op& raw() const noexcept { return *raw_; }

private:
    const indexer_sink_op* raw_;
};

// Sets the result of each op. Messages are kept alive until the next call on
// the handle, as the ABI requires.
class Results {
public:
    Results(indexer_sink_result* results, std::size_t count, std::deque<std::string>& messages) noexcept
        : results_(results), count_(count), messages_(&messages) {}

    std::size_t size() const noexcept { return count_; }
    Status status(std::size_t i) const noexcept { return static_cast<Status>(results_[i].status); }

    void ok(std::size_t i, int native_code = 0) { set(i, Status::Ok, native_code, {}); }
    void retry(std::size_t i, std::string message, int native_code = 0) {
        set(i, Status::Retry, native_code, std::move(message));
    }
    void reject(std::size_t i, std::string message, int native_code = 0) {
        set(i, Status::Reject, native_code, std::move(message));
    }
    // Throws std::out_of_range for an index past the batch (the glue turns
    // it into RETRY results instead of writing out of bounds).
    void set(std::size_t i, Status status, int native_code, std::string message) {
        if (i >= count_) throw std::out_of_range("indexer::sdk::Results: op index out of range");
        indexer_sink_result& r = results_[i];
        r.status = static_cast<std::uint32_t>(status);
        r.native_code = native_code;
        r.message = message.empty() ? nullptr : keep(std::move(message));
    }
    // A failure of the whole call: every op not answered yet becomes RETRY
    // with one shared message.
    void retry_unanswered(std::string message, int native_code = 0) {
        const char* kept = keep(std::move(message));
        for (std::size_t i = 0; i < count_; ++i) {
            if (results_[i].status == INDEXER_SINK_UNSET) {
                results_[i] = indexer_sink_result{INDEXER_SINK_RETRY, native_code, kept};
            }
        }
    }

private:
    const char* keep(std::string message) {
        messages_->push_back(std::move(message));
        return messages_->back().c_str();
    }
    indexer_sink_result* results_;
    std::size_t count_;
    std::deque<std::string>* messages_;
};

// The deadline and the host's "stop now" of one write (ABI 1.1). Valid only
// during the write call. Default-constructed: no deadline, never stops.
class WriteControl {
public:
    using Clock = std::chrono::steady_clock;

    WriteControl() noexcept = default;
    // Reads only the fields `raw->struct_size` covers; `raw` may be NULL.
    explicit WriteControl(const indexer_sink_write_control* raw) noexcept {
        if (raw == nullptr) return;
        if (covers(raw, offsetof(indexer_sink_write_control, deadline_ms), sizeof(std::int64_t)) &&
            raw->deadline_ms != INDEXER_SINK_NO_DEADLINE) {
            deadline_ = from_monotonic_ms(raw->deadline_ms);
        }
        if (covers(raw, offsetof(indexer_sink_write_control, stop_token), sizeof(const void*)) &&
            raw->stop_requested != nullptr) {
            stop_requested_ = raw->stop_requested;
            stop_token_ = raw->stop_token;
        }
    }

    bool has_deadline() const noexcept { return deadline_ != Clock::time_point::max(); }
    // Clock::time_point::max() when there is none.
    Clock::time_point deadline() const noexcept { return deadline_; }
    bool deadline_passed() const noexcept { return has_deadline() && Clock::now() >= deadline_; }
    // Asks the host (cheap; any thread of the sink may ask during the call).
    bool stop_requested() const noexcept {
        return stop_requested_ != nullptr && stop_requested_(stop_token_) != 0;
    }

    // Why the write must return now, or empty while it may go on. Ask it at
    // least every 50 ms while waiting.
    std::string_view interrupted() const noexcept {
        if (stop_requested()) return "the host asked the write to stop";
        if (deadline_passed()) return "the write's deadline passed";
        return {};
    }

    // How long a wait may last: the time left until the deadline, at most
    // `slice` (so that stop is seen in time), never negative.
    std::chrono::milliseconds wait_slice(
        std::chrono::milliseconds slice = std::chrono::milliseconds(50)) const noexcept {
        if (!has_deadline()) return slice;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
        if (left <= std::chrono::milliseconds::zero()) return std::chrono::milliseconds::zero();
        return left < slice ? left : slice;
    }

private:
    static bool covers(const indexer_sink_write_control* raw, std::size_t offset, std::size_t size) noexcept {
        return raw->struct_size >= offset + size;
    }
    static Clock::time_point from_monotonic_ms(std::int64_t deadline_ms) noexcept {
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        const std::int64_t now_ms = static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
        // The remaining time carries over: steady_clock need not share CLOCK_MONOTONIC's epoch.
        const std::int64_t left_ms = deadline_ms > now_ms ? deadline_ms - now_ms : 0;
        // Past a century a deadline is as good as none (and would overflow the clock).
        constexpr std::int64_t kCenturyMs = std::int64_t{100} * 365 * 24 * 3600 * 1000;
        if (left_ms > kCenturyMs) return Clock::time_point::max();
        return Clock::now() + std::chrono::milliseconds(left_ms);
    }

    Clock::time_point deadline_ = Clock::time_point::max();
    int (*stop_requested_)(const void*) = nullptr;
    const void* stop_token_ = nullptr;
};

// Sets the result of each id of a read (ABI 1.2). Documents and messages are
// kept alive until the next call on the handle, as the ABI requires.
class ReadResults {
public:
    ReadResults(indexer_sink_read_result* results, std::size_t count, std::deque<std::string>& kept) noexcept
        : results_(results), count_(count), kept_(&kept) {}

    std::size_t size() const noexcept { return count_; }
    Status status(std::size_t i) const noexcept { return static_cast<Status>(results_[i].status); }

    // `version` 0 = none or unknown.
    void found(std::size_t i, std::string document, std::uint64_t version = 0, int native_code = 0) {
        indexer_sink_read_result& r = at(i);
        r = indexer_sink_read_result{INDEXER_SINK_OK, native_code, nullptr, {}, version};
        if (!document.empty()) {
            const std::string& kept = keep(std::move(document));
            r.document = indexer_plugin_str{kept.data(), kept.size()};
        }
    }
    void not_found(std::size_t i, int native_code = 0) {
        at(i) = indexer_sink_read_result{INDEXER_SINK_NOT_FOUND, native_code, nullptr, {}, 0};
    }
    void retry(std::size_t i, std::string message, int native_code = 0) {
        failed(i, Status::Retry, std::move(message), native_code);
    }
    void reject(std::size_t i, std::string message, int native_code = 0) {
        failed(i, Status::Reject, std::move(message), native_code);
    }
    // A failure of the whole call: every id not answered yet becomes RETRY
    // with one shared message.
    void retry_unanswered(std::string message, int native_code = 0) {
        const char* kept = keep(std::move(message)).c_str();
        for (std::size_t i = 0; i < count_; ++i) {
            if (results_[i].status == INDEXER_SINK_UNSET) {
                results_[i] = indexer_sink_read_result{INDEXER_SINK_RETRY, native_code, kept, {}, 0};
            }
        }
    }

private:
    // Throws std::out_of_range for an index past the request.
    indexer_sink_read_result& at(std::size_t i) {
        if (i >= count_) throw std::out_of_range("indexer::sdk::ReadResults: id index out of range");
        return results_[i];
    }
    void failed(std::size_t i, Status status, std::string message, int native_code) {
        indexer_sink_read_result& r = at(i);
        r = indexer_sink_read_result{static_cast<std::uint32_t>(status), native_code, nullptr, {}, 0};
        if (!message.empty()) r.message = keep(std::move(message)).c_str();
    }
    const std::string& keep(std::string text) {
        kept_->push_back(std::move(text));
        return kept_->back();
    }
    indexer_sink_read_result* results_;
    std::size_t count_;
    std::deque<std::string>* kept_;
};

// One page of a listing (ABI 1.2), as the sink builds it: ids, the cursor of
// the next page (empty = the listing is complete), or a failure of the page.
class ListPage {
public:
    explicit ListPage(std::size_t max_ids) noexcept : max_ids_(max_ids) {}

    std::size_t max_ids() const noexcept { return max_ids_; }
    bool full() const noexcept { return ids_.size() >= max_ids_; }
    // Throws std::length_error past max_ids.
    void add(std::string id) {
        if (full()) throw std::length_error("indexer::sdk::ListPage: more ids than max_ids");
        ids_.push_back(std::move(id));
    }
    // Empty (the default) when this page ends the listing.
    void set_next_cursor(std::string cursor) { next_cursor_ = std::move(cursor); }
    // Entries that belong to the sink but cannot be named by an id.
    void add_unlisted(std::uint64_t n = 1) noexcept { unlisted_ += n; }
    // No page now; the same cursor may be given again later. Drops the ids.
    void retry(std::string message, int native_code = 0) {
        fail(Status::Retry, std::move(message), native_code);
    }
    // The cursor cannot be continued: the host lists again from the start.
    void reject(std::string message, int native_code = 0) {
        fail(Status::Reject, std::move(message), native_code);
    }

    Status status() const noexcept { return status_; }
    int native_code() const noexcept { return native_code_; }
    const std::string& message() const noexcept { return message_; }
    const std::vector<std::string>& ids() const noexcept { return ids_; }
    const std::string& next_cursor() const noexcept { return next_cursor_; }
    std::uint64_t unlisted() const noexcept { return unlisted_; }

private:
    void fail(Status status, std::string message, int native_code) {
        status_ = status;
        message_ = std::move(message);
        native_code_ = native_code;
        ids_.clear();
        next_cursor_.clear();
        unlisted_ = 0;
    }
    std::size_t max_ids_;
    Status status_ = Status::Ok;
    int native_code_ = 0;
    std::string message_;
    std::vector<std::string> ids_;
    std::string next_cursor_;
    std::uint64_t unlisted_ = 0;
};

// The outcome of create_target or switch_target (ABI 1.3), as the sink sets
// it: ok with the value the host gets (the new target's name; the previous
// targets, comma-separated), retry or reject with a message. Default: RETRY
// "the sink gave no answer".
class TargetResult {
public:
    // `warning`: something the operator should know although it worked.
    void ok(std::string value, int native_code = 0, std::string warning = {}) {
        set(Status::Ok, native_code, std::move(warning));
        value_ = std::move(value);
    }
    void retry(std::string message, int native_code = 0) {
        set(Status::Retry, native_code, std::move(message));
    }
    void reject(std::string message, int native_code = 0) {
        set(Status::Reject, native_code, std::move(message));
    }

    Status status() const noexcept { return status_; }
    int native_code() const noexcept { return native_code_; }
    const std::string& message() const noexcept { return message_; }
    const std::string& value() const noexcept { return value_; }

private:
    void set(Status status, int native_code, std::string message) {
        status_ = status;
        native_code_ = native_code;
        message_ = std::move(message);
        value_.clear();
    }
    Status status_ = Status::Retry;
    int native_code_ = 0;
    std::string message_ = "the sink gave no answer";
    std::string value_;
};

// Base class of a C++ sink. The constructor (of the derived class) opens it.
// Override write or write_with_control (one of them; INDEXER_SINK_PLUGIN
// refuses a class that overrides neither).
class Sink {
public:
    virtual ~Sink() = default;
    Sink() = default;
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;

    // A write without deadline.
    virtual void write(std::span<const Op> ops, Results& results) { write_with_control(ops, results, {}); }
    // A write bounded by `control`; the host always calls this one. Ops left
    // unanswered when it returns interrupted become RETRY with the reason.
    virtual void write_with_control(std::span<const Op> ops, Results& results,
                                    const WriteControl& /*control*/) {
        write(ops, results);
    }
    // Makes every op answered OK since the last flush durable: OK, or RETRY
    // with `error` set (the host then writes the batch again). The host calls
    // it after a batch's writes, before committing; see <indexer/sink_plugin.h>.
    virtual Status flush(std::string& /*error*/) { return Status::Ok; }
    // OK when the backend answers, otherwise RETRY with `error` set.
    virtual Status health(std::string& /*error*/) { return Status::Ok; }

    // Reads back the documents stored under `ids` (ABI 1.2): results.found,
    // not_found, retry or reject for each. Ids left unanswered when it
    // returns interrupted become RETRY with the reason. Offered to the host
    // only when overridden.
    virtual void read(std::span<const std::string_view> /*ids*/, std::string_view /*target*/,
                      ReadResults& results, const WriteControl& /*control*/) {
        results.retry_unanswered("this sink does not read");
    }
    // Fills one page of the listing that `cursor` continues (empty: a new
    // listing) with at most page.max_ids() ids (ABI 1.2). Offered to the host
    // only when overridden.
    virtual void list(std::string_view /*cursor*/, std::string_view /*target*/, ListPage& page,
                      const WriteControl& /*control*/) {
        page.retry("this sink does not list");
    }

    // Creates a new, empty physical target named from `suffix` behind the
    // sink's default name (ABI 1.3): result.ok(its name), retry or reject.
    // Offered to the host only when overridden.
    virtual void create_target(std::string_view /*suffix*/, TargetResult& result,
                               const WriteControl& /*control*/) {
        result.reject("this sink has no reindex targets");
    }
    // Points the default name at `target` alone, atomically, then removes
    // what it pointed to before unless `keep_old` (ABI 1.3):
    // result.ok(previous targets, comma-separated), retry or reject.
    // Offered to the host only when overridden.
    virtual void switch_target(std::string_view /*target*/, bool /*keep_old*/, TargetResult& result,
                               const WriteControl& /*control*/) {
        result.reject("this sink has no reindex targets");
    }
};

namespace detail {

// The host API given to this plugin's init. Defined once per plugin by
// INDEXER_SINK_PLUGIN and hidden: a function-local static in an inline
// function would become a process-wide STB_GNU_UNIQUE symbol, shared by every
// plugin built without hidden visibility (their logs would carry another
// plugin's name) and making the library impossible to unload.
#if defined(__GNUC__)
__attribute__((visibility("hidden")))
#endif
extern const indexer_host_api* plugin_host;

inline const indexer_host_api*& host() noexcept {
    return plugin_host;
}

inline void copy_error(std::string_view text, char* error, std::size_t error_size) noexcept {
    if (error == nullptr || error_size == 0) return;
    const std::size_t n = text.size() < error_size - 1 ? text.size() : error_size - 1;
    std::memcpy(error, text.data(), n);
    error[n] = '\0';
}

struct Handle {
    std::unique_ptr<Sink> sink;
    std::deque<std::string> messages;   // strings handed out until the next call
    std::vector<Op> ops;                // reused between calls
    std::vector<std::string_view> ids;  // reused between reads
    // The last page of a listing, lent to the host until the next call.
    std::vector<std::string> page_ids;
    std::vector<indexer_plugin_str> page_views;
    std::string page_cursor;
    // The value of the last create_target / switch_target, lent likewise.
    std::string target_value;
};

inline Handle* from(indexer_sink_handle* handle) noexcept {
    return reinterpret_cast<Handle*>(handle);
}

template <class SinkClass>
int open(const char* instance, const char* config_json, std::size_t config_size, indexer_sink_handle** out,
         char* error, std::size_t error_size) noexcept {
    try {
        auto handle = std::make_unique<Handle>();
        handle->sink = std::make_unique<SinkClass>(std::string_view{instance == nullptr ? "" : instance},
                                                   std::string_view{config_json, config_size});
        *out = reinterpret_cast<indexer_sink_handle*>(handle.release());
        return 0;
    } catch (const std::exception& e) {
        copy_error(e.what(), error, error_size);
    } catch (...) {
        copy_error("open failed with an unknown exception", error, error_size);
    }
    return 1;
}

// The glue every answering call shares: the sink is not called once
// `raw_control` says to return, and whatever it leaves unanswered when it
// returns interrupted, or throws, becomes RETRY saying why. `unfinished`
// starts those messages ("not written", "not read").
template <class Answers, class Call>
void answer_all(Answers& answers, const indexer_sink_write_control* raw_control, std::string_view unfinished,
                Call&& call) noexcept {
    try {
        const WriteControl control(raw_control);
        if (const std::string_view why = control.interrupted(); !why.empty()) {
            answers.retry_unanswered(std::string(unfinished) + ": " + std::string(why));
            return;
        }
        call(control);
        if (const std::string_view why = control.interrupted(); !why.empty()) {
            answers.retry_unanswered(std::string(unfinished) + ": " + std::string(why));
        }
    } catch (const std::exception& e) {
        try {
            answers.retry_unanswered(std::string("sink threw: ") + e.what());
        } catch (...) {
            // Out of memory while reporting: leave the results unset; the
            // host treats unset results as failures of the plugin.
        }
    } catch (...) {
        try {
            answers.retry_unanswered("sink threw an unknown exception");
        } catch (...) {
        }
    }
}

inline void write_with_control(indexer_sink_handle* handle, const indexer_sink_op* ops, std::size_t count,
                               indexer_sink_result* results,
                               const indexer_sink_write_control* raw_control) noexcept {
    Handle* h = from(handle);
    h->messages.clear();
    Results answers(results, count, h->messages);
    answer_all(answers, raw_control, "not written", [&](const WriteControl& control) {
        h->ops.clear();
        h->ops.reserve(count);
        for (std::size_t i = 0; i < count; ++i) h->ops.emplace_back(ops[i]);
        h->sink->write_with_control(std::span<const Op>(h->ops), answers, control);
    });
}

template <class Request>
constexpr bool covers(const Request* request, std::size_t offset, std::size_t size) noexcept {
    return request->struct_size >= offset + size;
}

inline std::string_view view_if_covered(const indexer_sink_read_request* request) noexcept {
    return covers(request, offsetof(indexer_sink_read_request, target), sizeof(indexer_str))
               ? view(request->target)
               : std::string_view{};
}

inline void read(indexer_sink_handle* handle, const indexer_sink_read_request* request,
                 indexer_sink_read_result* results, const indexer_sink_write_control* raw_control) noexcept {
    Handle* h = from(handle);
    h->messages.clear();
    const bool has_ids = request != nullptr &&
                         covers(request, offsetof(indexer_sink_read_request, count), sizeof(std::size_t));
    const std::size_t count = has_ids ? request->count : 0;
    ReadResults answers(results, count, h->messages);
    answer_all(answers, raw_control, "not read", [&](const WriteControl& control) {
        h->ids.clear();
        h->ids.reserve(count);
        for (std::size_t i = 0; i < count; ++i) h->ids.push_back(view(request->ids[i]));
        h->sink->read(std::span<const std::string_view>(h->ids), view_if_covered(request), answers, control);
    });
}

// Copies a page into the handle (where it stays until the next call) and
// into the fields of `out` that its struct_size covers.
inline void publish(Handle& h, ListPage& page, indexer_sink_list_page* out) {
    h.page_ids.clear();
    h.page_views.clear();
    h.page_cursor = page.next_cursor();
    const std::uint32_t status = static_cast<std::uint32_t>(page.status());
    const char* message = page.message().empty() ? nullptr : h.messages.emplace_back(page.message()).c_str();
    for (const std::string& id : page.ids()) h.page_ids.push_back(id);
    h.page_views.reserve(h.page_ids.size());
    for (const std::string& id : h.page_ids) h.page_views.push_back(indexer_plugin_str{id.data(), id.size()});
    using P = indexer_sink_list_page;
    if (covers(out, offsetof(P, status), sizeof(std::uint32_t))) out->status = status;
    if (covers(out, offsetof(P, native_code), sizeof(std::int32_t))) out->native_code = page.native_code();
    if (covers(out, offsetof(P, message), sizeof(const char*))) out->message = message;
    if (covers(out, offsetof(P, count), sizeof(std::size_t))) {
        out->ids = h.page_views.empty() ? nullptr : h.page_views.data();
        out->count = h.page_views.size();
    }
    if (covers(out, offsetof(P, next_cursor), sizeof(indexer_plugin_str))) {
        out->next_cursor = indexer_plugin_str{h.page_cursor.data(), h.page_cursor.size()};
    }
    if (covers(out, offsetof(P, unlisted), sizeof(std::uint64_t))) out->unlisted = page.unlisted();
}

inline void list(indexer_sink_handle* handle, const indexer_sink_list_request* request,
                 indexer_sink_list_page* out, const indexer_sink_write_control* raw_control) noexcept {
    Handle* h = from(handle);
    h->messages.clear();
    if (out == nullptr || request == nullptr) return;
    using R = indexer_sink_list_request;
    const std::string_view cursor = covers(request, offsetof(R, cursor), sizeof(indexer_str))
                                        ? view(request->cursor)
                                        : std::string_view{};
    const std::size_t max_ids =
        covers(request, offsetof(R, max_ids), sizeof(std::size_t)) ? request->max_ids : 0;
    const std::string_view target = covers(request, offsetof(R, target), sizeof(indexer_str))
                                        ? view(request->target)
                                        : std::string_view{};
    try {
        ListPage page(max_ids);
        const WriteControl control(raw_control);
        if (max_ids == 0) {
            page.reject("max_ids is 0: a page holds at least one id");
        } else if (const std::string_view why = control.interrupted(); !why.empty()) {
            page.retry("not listed: " + std::string(why));
        } else {
            h->sink->list(cursor, target, page, control);
        }
        publish(*h, page, out);
    } catch (const std::exception& e) {
        try {
            ListPage failed(0);
            failed.retry(std::string("sink threw: ") + e.what());
            publish(*h, failed, out);
        } catch (...) {
            out->status = INDEXER_SINK_RETRY;  // out of memory: no message
        }
    } catch (...) {
        try {
            ListPage failed(0);
            failed.retry("sink threw an unknown exception");
            publish(*h, failed, out);
        } catch (...) {
            out->status = INDEXER_SINK_RETRY;
        }
    }
}

// Runs a create_target / switch_target call: not started once `raw_control`
// says to return, RETRY with the reason when it returns interrupted without
// an answer or throws, and the outcome copied into the fields of `out` that
// its struct_size covers (both result structures share their layout).
template <class Out, class Call>
void answer_target(Handle& h, Out* out, const indexer_sink_write_control* raw_control, Call&& call) noexcept {
    h.messages.clear();
    if (out == nullptr) return;
    std::uint32_t status = INDEXER_SINK_RETRY;
    int native_code = 0;
    const char* message = nullptr;
    indexer_plugin_str value{};
    try {
        TargetResult result;
        const WriteControl control(raw_control);
        if (const std::string_view why = control.interrupted(); !why.empty()) {
            result.retry("not done: " + std::string(why));
        } else {
            call(result, control);
        }
        status = static_cast<std::uint32_t>(result.status());
        native_code = result.native_code();
        if (!result.message().empty()) message = h.messages.emplace_back(result.message()).c_str();
        h.target_value = result.status() == Status::Ok ? result.value() : std::string{};
        value = indexer_plugin_str{h.target_value.data(), h.target_value.size()};
    } catch (const std::exception& e) {
        status = INDEXER_SINK_RETRY;
        try {
            message = h.messages.emplace_back(std::string("sink threw: ") + e.what()).c_str();
        } catch (...) {
            message = nullptr;  // out of memory: no message
        }
        value = {};
    } catch (...) {
        status = INDEXER_SINK_RETRY;
        message = nullptr;
        value = {};
    }
    if (covers(out, offsetof(Out, status), sizeof(std::uint32_t))) out->status = status;
    if (covers(out, offsetof(Out, native_code), sizeof(std::int32_t))) out->native_code = native_code;
    if (covers(out, offsetof(Out, message), sizeof(const char*))) out->message = message;
    if constexpr (std::is_same_v<Out, indexer_sink_create_target_result>) {
        if (covers(out, offsetof(Out, name), sizeof(indexer_plugin_str))) out->name = value;
    } else {
        if (covers(out, offsetof(Out, previous), sizeof(indexer_plugin_str))) out->previous = value;
    }
}

inline void create_target(indexer_sink_handle* handle, const indexer_sink_create_target_request* request,
                          indexer_sink_create_target_result* out,
                          const indexer_sink_write_control* raw_control) noexcept {
    using R = indexer_sink_create_target_request;
    const std::string_view suffix =
        request != nullptr && covers(request, offsetof(R, suffix), sizeof(indexer_str))
            ? view(request->suffix)
            : std::string_view{};
    Handle* h = from(handle);
    answer_target(*h, out, raw_control, [&](TargetResult& result, const WriteControl& control) {
        h->sink->create_target(suffix, result, control);
    });
}

inline void switch_target(indexer_sink_handle* handle, const indexer_sink_switch_target_request* request,
                          indexer_sink_switch_target_result* out,
                          const indexer_sink_write_control* raw_control) noexcept {
    using R = indexer_sink_switch_target_request;
    const bool has_target = request != nullptr && covers(request, offsetof(R, target), sizeof(indexer_str));
    const std::string_view target = has_target ? view(request->target) : std::string_view{};
    const std::uint32_t keep_old =
        request != nullptr && covers(request, offsetof(R, keep_old), sizeof(std::uint32_t))
            ? request->keep_old
            : 0;
    Handle* h = from(handle);
    answer_target(*h, out, raw_control, [&](TargetResult& result, const WriteControl& control) {
        if (keep_old > 1) {
            result.reject("keep_old is " + std::to_string(keep_old) + ", expected 0 or 1");
        } else if (target.empty()) {
            result.reject("no target: switch_target needs a name create_target returned");
        } else {
            h->sink->switch_target(target, keep_old == 1, result, control);
        }
    });
}

inline void write(indexer_sink_handle* handle, const indexer_sink_op* ops, std::size_t count,
                  indexer_sink_result* results) noexcept {
    write_with_control(handle, ops, count, results, nullptr);
}

inline void close(indexer_sink_handle* handle) noexcept {
    delete from(handle);
}

template <Status (Sink::*Probe)(std::string&)>
std::uint32_t probe(indexer_sink_handle* handle, char* error, std::size_t error_size) noexcept {
    Handle* h = from(handle);
    h->messages.clear();
    try {
        std::string reason;
        const Status status = (h->sink.get()->*Probe)(reason);
        if (status != Status::Ok) copy_error(reason, error, error_size);
        return static_cast<std::uint32_t>(status);
    } catch (const std::exception& e) {
        copy_error(e.what(), error, error_size);
    } catch (...) {
        copy_error("unknown exception", error, error_size);
    }
    return INDEXER_SINK_RETRY;
}

// &SinkClass::write names Sink::write unless SinkClass (or a base between)
// declares its own.
template <class SinkClass>
constexpr bool overrides_a_write =
    !std::is_same_v<decltype(&SinkClass::write), void (Sink::*)(std::span<const Op>, Results&)> ||
    !std::is_same_v<decltype(&SinkClass::write_with_control),
                    void (Sink::*)(std::span<const Op>, Results&, const WriteControl&)>;

// Whether SinkClass (or a base between) declares its own read / list.
template <class SinkClass>
constexpr bool overrides_read =
    !std::is_same_v<decltype(&SinkClass::read),
                    void (Sink::*)(std::span<const std::string_view>, std::string_view, ReadResults&,
                                   const WriteControl&)>;
template <class SinkClass>
constexpr bool overrides_list =
    !std::is_same_v<decltype(&SinkClass::list),
                    void (Sink::*)(std::string_view, std::string_view, ListPage&, const WriteControl&)>;

// Whether SinkClass (or a base between) declares its own create_target / switch_target.
template <class SinkClass>
constexpr bool overrides_create_target =
    !std::is_same_v<decltype(&SinkClass::create_target),
                    void (Sink::*)(std::string_view, TargetResult&, const WriteControl&)>;
template <class SinkClass>
constexpr bool overrides_switch_target =
    !std::is_same_v<decltype(&SinkClass::switch_target),
                    void (Sink::*)(std::string_view, bool, TargetResult&, const WriteControl&)>;

template <class SinkClass>
int init(const indexer_host_api* api, indexer_sink_functions* functions) noexcept {
    static_assert(std::is_base_of_v<Sink, SinkClass>, "a sink derives from indexer::sdk::Sink");
    static_assert(overrides_a_write<SinkClass>, "a sink overrides write or write_with_control");
    if (functions == nullptr || functions->struct_size < sizeof(indexer_sink_functions)) return 1;
    host() = api;
    functions->struct_size = sizeof(indexer_sink_functions);
    functions->open = &open<SinkClass>;
    functions->write = &write;
    functions->close = &close;
    functions->flush = &probe<&Sink::flush>;
    functions->health = &probe<&Sink::health>;
    functions->write_with_control = &write_with_control;
    functions->read = overrides_read<SinkClass> ? &read : nullptr;
    functions->list = overrides_list<SinkClass> ? &list : nullptr;
    functions->create_target = overrides_create_target<SinkClass> ? &create_target : nullptr;
    functions->switch_target = overrides_switch_target<SinkClass> ? &switch_target : nullptr;
    return 0;
}

}  // namespace detail

// Writes one line to the host's log, tagged with the plugin's name.
inline void log(LogLevel level, const std::string& message) noexcept {
    const indexer_host_api* api = detail::host();
    if (api != nullptr && api->log != nullptr) {
        api->log(api->host_data, static_cast<indexer_log_level>(level), message.c_str());
    }
}

}  // namespace indexer::sdk

#define INDEXER_SINK_PLUGIN(SinkClass, name, version)                                             \
    const indexer_host_api* indexer::sdk::detail::plugin_host = nullptr;                          \
    extern "C" INDEXER_SINK_EXPORT const indexer_sink_info* indexer_sink_magic(void) {            \
        static const indexer_sink_info info = {sizeof(indexer_sink_info), INDEXER_SINK_ABI_MAJOR, \
                                               INDEXER_SINK_ABI_MINOR, name, version};            \
        return &info;                                                                             \
    }                                                                                             \
    extern "C" INDEXER_SINK_EXPORT int indexer_sink_init_v1(const indexer_host_api* host,         \
                                                            indexer_sink_functions* functions) {  \
        return ::indexer::sdk::detail::init<SinkClass>(host, functions);                          \
    }

#endif  // INDEXER_SINK_HPP
