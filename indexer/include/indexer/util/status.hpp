// Expected failures inside the core are values: Status for "did it work",
// Result<T> for "the value, or why not". Exceptions are kept for start-up
// misconfiguration, caught in main.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace indexer {

class [[nodiscard]] Status {
public:
    Status() = default;  // OK
    static Status ok() { return Status{}; }
    static Status error(std::string message) { return Status{std::move(message)}; }
    // An error that may go away by itself (database restarting, connection lost):
    // the caller backs off and tries again instead of giving up.
    static Status retryable_error(std::string message) {
        Status status{std::move(message)};
        status.retryable_ = true;
        return status;
    }

    bool is_ok() const noexcept { return !message_.has_value(); }
    explicit operator bool() const noexcept { return is_ok(); }
    bool is_retryable() const noexcept { return retryable_; }
    const std::string& message() const noexcept {
        static const std::string empty;
        return message_ ? *message_ : empty;
    }

private:
    explicit Status(std::string message) : message_(std::move(message)) {}
    std::optional<std::string> message_;
    bool retryable_ = false;
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit by design
    Result(Status status) : state_(std::in_place_index<1>, std::move(status)) {  // NOLINT
        assert(!std::get<1>(state_).is_ok() && "a Result built from a Status needs an error");
    }

    bool is_ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return is_ok(); }
    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const Status& status() const {
        static const Status ok;
        return is_ok() ? ok : std::get<1>(state_);
    }
    const std::string& error() const { return status().message(); }

private:
    std::variant<T, Status> state_;
};

}  // namespace indexer

// Returns the Status of an expression from the enclosing function when it failed.
#define INDEXER_RETURN_IF_ERROR(expr)                         \
    do {                                                      \
        ::indexer::Status indexer_status_ = (expr);           \
        if (!indexer_status_.is_ok()) return indexer_status_; \
    } while (false)
