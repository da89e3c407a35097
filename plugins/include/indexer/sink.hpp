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
// The macro's glue catches every exception so that none crosses the C
// boundary: a throwing constructor becomes an open error, a throwing write
// marks every op it had not answered yet RETRY with the exception's message.
//
// Header-only; needs C++20. Build plugins with hidden visibility
// (CXX_VISIBILITY_PRESET hidden): only the two entry symbols need exporting.
#ifndef INDEXER_SINK_HPP
#define INDEXER_SINK_HPP

#include <indexer/sink_plugin.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace indexer::sdk {

enum class OpKind : std::uint32_t { Upsert = INDEXER_SINK_UPSERT, Delete = INDEXER_SINK_DELETE };

enum class Status : std::uint32_t {
    Unset = INDEXER_SINK_UNSET,
    Ok = INDEXER_SINK_OK,
    Retry = INDEXER_SINK_RETRY,
    Reject = INDEXER_SINK_REJECT,
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

// Base class of a C++ sink. The constructor (of the derived class) opens it.
class Sink {
public:
    virtual ~Sink() = default;
    Sink() = default;
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;

    virtual void write(std::span<const Op> ops, Results& results) = 0;
    // OK, or RETRY with `error` set.
    virtual Status flush(std::string& /*error*/) { return Status::Ok; }
    // OK when the backend answers, otherwise RETRY with `error` set.
    virtual Status health(std::string& /*error*/) { return Status::Ok; }
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
    std::deque<std::string> messages;  // strings handed out until the next call
    std::vector<Op> ops;               // reused between calls
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

inline void write(indexer_sink_handle* handle, const indexer_sink_op* ops, std::size_t count,
                  indexer_sink_result* results) noexcept {
    Handle* h = from(handle);
    h->messages.clear();
    Results answers(results, count, h->messages);
    try {
        h->ops.clear();
        h->ops.reserve(count);
        for (std::size_t i = 0; i < count; ++i) h->ops.emplace_back(ops[i]);
        h->sink->write(std::span<const Op>(h->ops), answers);
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

template <class SinkClass>
int init(const indexer_host_api* api, indexer_sink_functions* functions) noexcept {
    if (functions == nullptr || functions->struct_size < sizeof(indexer_sink_functions)) return 1;
    host() = api;
    functions->struct_size = sizeof(indexer_sink_functions);
    functions->open = &open<SinkClass>;
    functions->write = &write;
    functions->close = &close;
    functions->flush = &probe<&Sink::flush>;
    functions->health = &probe<&Sink::health>;
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
