#include <indexer/plugin/sink_handle.hpp>
#include <indexer/plugin/sink_plugin.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <ctime>
#include <utility>

namespace indexer::plugin {
namespace {

constexpr std::size_t kErrorBufferSize = 2048;

indexer_str to_raw(std::string_view text) noexcept {
    return indexer_str{text.data(), text.size()};
}

std::int64_t monotonic_now_ms() noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

// The ABI's deadline is on CLOCK_MONOTONIC; steady_clock's epoch is not
// promised to be the same, so the remaining time is carried over instead.
std::int64_t to_deadline_ms(std::chrono::steady_clock::time_point deadline) noexcept {
    using std::chrono::steady_clock;
    // Past a century a deadline is as good as none (and would overflow).
    constexpr auto kFarAway = std::chrono::hours(24 * 365 * 100);
    if (deadline == steady_clock::time_point::max()) return INDEXER_SINK_NO_DEADLINE;
    const auto remaining = deadline - steady_clock::now();
    if (remaining > kFarAway) return INDEXER_SINK_NO_DEADLINE;
    // Rounded down: a plugin may return a little early, never late.
    return monotonic_now_ms() + std::chrono::floor<std::chrono::milliseconds>(remaining).count();
}

// The stop token handed to plugins: a std::atomic<bool> the host's other
// threads set. Any thread may read it.
int stop_flag_is_set(const void* token) noexcept {
    return static_cast<const std::atomic<bool>*>(token)->load(std::memory_order_acquire) ? 1 : 0;
}

// Why a write was not even started, or empty when it may start.
std::string_view refusal(const WriteControl& control) noexcept {
    if (control.stop != nullptr && control.stop->load(std::memory_order_acquire))
        return "the host asked the sink to stop";
    if (control.deadline != std::chrono::steady_clock::time_point::max() &&
        std::chrono::steady_clock::now() >= control.deadline)
        return "the write's deadline had passed";
    return {};
}

}  // namespace

std::string_view to_string(OpStatus status) noexcept {
    switch (status) {
        case OpStatus::Ok:
            return "OK";
        case OpStatus::Retry:
            return "RETRY";
        case OpStatus::Reject:
            return "REJECT";
    }
    return "INVALID";
}

SinkHandle::SinkHandle(std::shared_ptr<const SinkPlugin> plugin, indexer_sink_handle* raw,
                       std::string instance) noexcept
    : plugin_(std::move(plugin)), raw_(raw), instance_(std::move(instance)) {}

SinkHandle::SinkHandle(SinkHandle&& other) noexcept
    : plugin_(std::move(other.plugin_)),
      raw_(std::exchange(other.raw_, nullptr)),
      instance_(std::move(other.instance_)),
      results_left_unset_(other.results_left_unset_),
      results_with_invalid_status_(other.results_with_invalid_status_),
      raw_ops_(std::move(other.raw_ops_)),
      raw_results_(std::move(other.raw_results_)) {
    other.plugin_.reset();
}

SinkHandle& SinkHandle::operator=(SinkHandle&& other) noexcept {
    if (this != &other) {
        close();
        plugin_ = std::move(other.plugin_);
        other.plugin_.reset();
        raw_ = std::exchange(other.raw_, nullptr);
        instance_ = std::move(other.instance_);
        results_left_unset_ = other.results_left_unset_;
        results_with_invalid_status_ = other.results_with_invalid_status_;
        raw_ops_ = std::move(other.raw_ops_);
        raw_results_ = std::move(other.raw_results_);
    }
    return *this;
}

SinkHandle::~SinkHandle() {
    close();
}

void SinkHandle::close() noexcept {
    if (plugin_ == nullptr) return;
    plugin_->functions_.close(raw_);
    raw_ = nullptr;
    plugin_.reset();  // may unload the library: last
}

bool SinkHandle::has_flush() const noexcept {
    return plugin_ != nullptr && plugin_->has_flush();
}

bool SinkHandle::has_write_control() const noexcept {
    return plugin_ != nullptr && plugin_->has_write_control();
}

bool SinkHandle::has_health() const noexcept {
    return plugin_ != nullptr && plugin_->has_health();
}

std::vector<SinkResult> SinkHandle::write(std::span<const SinkOp> ops, const WriteControl& control) {
    std::vector<SinkResult> results(ops.size());
    if (plugin_ == nullptr) {
        for (auto& result : results) result.message = "the sink handle is closed";
        return results;
    }
    if (const std::string_view why = refusal(control); !why.empty()) {
        for (auto& result : results) result.message = fmt::format("write not started: {}", why);
        return results;
    }
    raw_ops_.resize(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const SinkOp& op = ops[i];
        raw_ops_[i] = indexer_sink_op{static_cast<std::uint32_t>(op.kind),
                                      0,
                                      to_raw(op.id),
                                      to_raw(op.document),
                                      op.version,
                                      to_raw(op.target)};
    }
    raw_results_.assign(ops.size(), indexer_sink_result{INDEXER_SINK_UNSET, 0, nullptr});

    if (plugin_->functions_.write_with_control != nullptr) {
        indexer_sink_write_control raw_control{};
        raw_control.struct_size = sizeof(indexer_sink_write_control);
        raw_control.deadline_ms = to_deadline_ms(control.deadline);
        raw_control.stop_requested = control.stop != nullptr ? &stop_flag_is_set : nullptr;
        raw_control.stop_token = control.stop;
        plugin_->functions_.write_with_control(raw_, raw_ops_.data(), raw_ops_.size(), raw_results_.data(),
                                               &raw_control);
    } else {
        plugin_->functions_.write(raw_, raw_ops_.data(), raw_ops_.size(), raw_results_.data());
    }

    const std::string& name = plugin_->name();
    std::size_t unset = 0;
    std::size_t invalid = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const indexer_sink_result& raw = raw_results_[i];
        SinkResult& result = results[i];
        result.native_code = raw.native_code;
        switch (raw.status) {
            case INDEXER_SINK_OK:
            case INDEXER_SINK_RETRY:
            case INDEXER_SINK_REJECT:
                result.status = static_cast<OpStatus>(raw.status);
                if (raw.message != nullptr) {
                    result.message = raw.message;
                } else if (result.status != OpStatus::Ok) {
                    result.message = fmt::format("sink '{}' gave no reason", name);
                }
                break;
            case INDEXER_SINK_UNSET:
                ++unset;
                result.status = OpStatus::Retry;
                result.message =
                    fmt::format("sink plugin '{}' left the result unset (a defect of the plugin)", name);
                break;
            default:
                ++invalid;
                result.status = OpStatus::Retry;
                result.message =
                    fmt::format("sink plugin '{}' returned the invalid status {} (a defect of the plugin)",
                                name, raw.status);
                break;
        }
    }
    // Once per call, not once per op: a defect repeats on every op of a batch.
    if (unset != 0) {
        results_left_unset_ += unset;
        spdlog::error("{}: sink plugin '{}' ({}) left {} of {} results unset; treating them as RETRY",
                      instance_, name, plugin_->info().path.string(), unset, results.size());
    }
    if (invalid != 0) {
        results_with_invalid_status_ += invalid;
        spdlog::error(
            "{}: sink plugin '{}' ({}) returned an invalid status for {} of {} results; treating them "
            "as RETRY",
            instance_, name, plugin_->info().path.string(), invalid, results.size());
    }
    return results;
}

Status SinkHandle::probe(const char* what,
                         std::uint32_t (*function)(indexer_sink_handle*, char*, std::size_t)) {
    if (plugin_ == nullptr)
        return Status::error(fmt::format("{}: {} on a closed sink handle", instance_, what));
    if (function == nullptr) return Status::ok();
    std::array<char, kErrorBufferSize> error{};
    const std::uint32_t status = function(raw_, error.data(), error.size());
    if (status == INDEXER_SINK_OK) return Status::ok();
    error.back() = '\0';
    std::string reason =
        error[0] != '\0' ? std::string(error.data()) : std::string("the plugin gave no reason");
    if (status != INDEXER_SINK_RETRY && status != INDEXER_SINK_REJECT) {
        reason = fmt::format("invalid status {} (a defect of the plugin); {}", status, reason);
    }
    return Status::error(
        fmt::format("{}: sink '{}' {} failed: {}", instance_, plugin_->name(), what, reason));
}

Status SinkHandle::flush() {
    return probe("flush", plugin_ == nullptr ? nullptr : plugin_->functions_.flush);
}

Status SinkHandle::health() {
    return probe("health", plugin_ == nullptr ? nullptr : plugin_->functions_.health);
}

}  // namespace indexer::plugin
