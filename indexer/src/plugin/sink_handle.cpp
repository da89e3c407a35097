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
        return "the deadline had passed";
    return {};
}

indexer_sink_write_control to_raw(const WriteControl& control) noexcept {
    indexer_sink_write_control raw{};
    raw.struct_size = sizeof(indexer_sink_write_control);
    raw.deadline_ms = to_deadline_ms(control.deadline);
    raw.stop_requested = control.stop != nullptr ? &stop_flag_is_set : nullptr;
    raw.stop_token = control.stop;
    return raw;
}

std::string copy(indexer_plugin_str bytes) {
    return bytes.size == 0 || bytes.data == nullptr ? std::string{} : std::string(bytes.data, bytes.size);
}

}  // namespace

std::string_view to_string(ReadStatus status) noexcept {
    switch (status) {
        case ReadStatus::Found:
            return "FOUND";
        case ReadStatus::NotFound:
            return "NOT_FOUND";
        case ReadStatus::Retry:
            return "RETRY";
        case ReadStatus::Reject:
            return "REJECT";
    }
    return "INVALID";
}

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

bool SinkHandle::has_read() const noexcept {
    return plugin_ != nullptr && plugin_->has_read();
}

bool SinkHandle::has_list() const noexcept {
    return plugin_ != nullptr && plugin_->has_list();
}

bool SinkHandle::has_create_target() const noexcept {
    return plugin_ != nullptr && plugin_->has_create_target();
}

bool SinkHandle::has_switch_target() const noexcept {
    return plugin_ != nullptr && plugin_->has_switch_target();
}

Status SinkHandle::can_call(std::string_view what, bool present, std::uint16_t since_minor) const {
    if (plugin_ == nullptr)
        return Status::error(fmt::format("{}: {} on a closed sink handle", instance_, what));
    if (present) return Status::ok();
    const PluginInfo& info = plugin_->info();
    if (info.abi_minor < since_minor) {
        return Status::error(fmt::format(
            "{}: sink '{}' ({}) does not support {}: it was built for sink ABI {}.{}, and {} needs a plugin "
            "built for ABI 1.{} or later",
            instance_, info.name, info.path.string(), what, info.abi_major, info.abi_minor, what,
            since_minor));
    }
    return Status::error(
        fmt::format("{}: sink '{}' ({}, ABI {}.{}) does not support {} (the plugin leaves it out)", instance_,
                    info.name, info.path.string(), info.abi_major, info.abi_minor, what));
}

Result<std::vector<ReadResult>> SinkHandle::read(std::span<const std::string_view> ids,
                                                 std::string_view target, const WriteControl& control) {
    INDEXER_RETURN_IF_ERROR(can_call("read", has_read()));
    std::vector<ReadResult> results(ids.size());
    if (const std::string_view why = refusal(control); !why.empty()) {
        for (auto& result : results) result.message = fmt::format("read not started: {}", why);
        return results;
    }
    raw_ids_.resize(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) raw_ids_[i] = to_raw(ids[i]);
    raw_read_results_.assign(ids.size(), indexer_sink_read_result{});
    indexer_sink_read_request request{};
    request.struct_size = sizeof(indexer_sink_read_request);
    request.ids = raw_ids_.empty() ? nullptr : raw_ids_.data();
    request.count = raw_ids_.size();
    request.target = to_raw(target);
    const indexer_sink_write_control raw_control = to_raw(control);
    plugin_->functions_.read(raw_, &request, raw_read_results_.data(), &raw_control);

    const std::string& name = plugin_->name();
    std::size_t defects = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const indexer_sink_read_result& raw = raw_read_results_[i];
        ReadResult& result = results[i];
        result.native_code = raw.native_code;
        switch (raw.status) {
            case INDEXER_SINK_OK:
                result.status = ReadStatus::Found;
                result.document = copy(raw.document);
                result.version = raw.version;
                break;
            case INDEXER_SINK_NOT_FOUND:
                result.status = ReadStatus::NotFound;
                break;
            case INDEXER_SINK_RETRY:
            case INDEXER_SINK_REJECT:
                result.status = static_cast<ReadStatus>(raw.status);
                result.message = raw.message != nullptr ? std::string(raw.message)
                                                        : fmt::format("sink '{}' gave no reason", name);
                break;
            default:
                ++defects;
                result.status = ReadStatus::Retry;
                result.message =
                    fmt::format("sink plugin '{}' returned the {} status {} (a defect of the plugin)", name,
                                raw.status == INDEXER_SINK_UNSET ? "unset" : "invalid", raw.status);
                break;
        }
    }
    if (defects != 0) {
        spdlog::error(
            "{}: sink plugin '{}' ({}) left {} of {} read results unset or invalid; treating them as RETRY",
            instance_, name, plugin_->info().path.string(), defects, results.size());
    }
    return results;
}

Result<ListPage> SinkHandle::list(std::string_view cursor, std::size_t max_ids, std::string_view target,
                                  const WriteControl& control) {
    INDEXER_RETURN_IF_ERROR(can_call("list", has_list()));
    if (max_ids == 0)
        return Status::error(fmt::format("{}: list needs a page of at least one id", instance_));
    ListPage page;
    if (const std::string_view why = refusal(control); !why.empty()) {
        page.message = fmt::format("list not started: {}", why);
        return page;
    }
    indexer_sink_list_request request{};
    request.struct_size = sizeof(indexer_sink_list_request);
    request.cursor = to_raw(cursor);
    request.max_ids = max_ids;
    request.target = to_raw(target);
    indexer_sink_list_page raw{};
    raw.struct_size = sizeof(indexer_sink_list_page);
    const indexer_sink_write_control raw_control = to_raw(control);
    plugin_->functions_.list(raw_, &request, &raw, &raw_control);

    const std::string& name = plugin_->name();
    page.native_code = raw.native_code;
    std::string defect;
    switch (raw.status) {
        case INDEXER_SINK_OK:
            if (raw.count > max_ids) {
                defect = fmt::format("returned {} ids for a page of at most {}", raw.count, max_ids);
            } else if (raw.count != 0 && raw.ids == nullptr) {
                defect = fmt::format("returned {} ids without an array", raw.count);
            }
            break;
        case INDEXER_SINK_RETRY:
        case INDEXER_SINK_REJECT:
            page.status = static_cast<OpStatus>(raw.status);
            page.message = raw.message != nullptr ? std::string(raw.message)
                                                  : fmt::format("sink '{}' gave no reason", name);
            return page;
        default:
            defect = fmt::format("returned the {} status {}",
                                 raw.status == INDEXER_SINK_UNSET ? "unset" : "invalid", raw.status);
            break;
    }
    if (!defect.empty()) {
        page.message = fmt::format("sink plugin '{}' {} (a defect of the plugin)", name, defect);
        spdlog::error("{}: {}", instance_, page.message);
        return page;
    }
    page.status = OpStatus::Ok;
    page.ids.reserve(raw.count);
    for (std::size_t i = 0; i < raw.count; ++i) page.ids.push_back(copy(raw.ids[i]));
    page.next_cursor = copy(raw.next_cursor);
    page.unlisted = raw.unlisted;
    return page;
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
        const indexer_sink_write_control raw_control = to_raw(control);
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

Result<std::string> SinkHandle::target_outcome(std::string_view what, std::uint32_t status,
                                               std::int32_t native_code, const char* message,
                                               indexer_plugin_str value) const {
    const std::string& name = plugin_->name();
    const std::string code = native_code != 0 ? fmt::format(" (native code {})", native_code) : std::string{};
    const std::string reason =
        message != nullptr ? std::string(message) : std::string("the plugin gave no reason");
    switch (status) {
        case INDEXER_SINK_OK:
            if (message != nullptr && message[0] != '\0')
                spdlog::warn("{}: sink '{}' {}: {}", instance_, name, what, message);
            return copy(value);
        case INDEXER_SINK_RETRY:
            return Status::retryable_error(fmt::format("{}: sink '{}' {} failed, may be tried again{}: {}",
                                                       instance_, name, what, code, reason));
        case INDEXER_SINK_REJECT:
            return Status::error(
                fmt::format("{}: sink '{}' {} refused{}: {}", instance_, name, what, code, reason));
        default: {
            std::string defect =
                fmt::format("{}: sink plugin '{}' ({}) {} returned the {} status {} (a defect of the plugin)",
                            instance_, name, plugin_->info().path.string(), what,
                            status == INDEXER_SINK_UNSET ? "unset" : "invalid", status);
            spdlog::error("{}", defect);
            return Status::retryable_error(std::move(defect));
        }
    }
}

Result<std::string> SinkHandle::create_target(std::string_view suffix, const WriteControl& control) {
    INDEXER_RETURN_IF_ERROR(can_call("create_target", has_create_target(), 3));
    if (const std::string_view why = refusal(control); !why.empty()) {
        return Status::retryable_error(
            fmt::format("{}: sink '{}' create_target not started: {}", instance_, plugin_->name(), why));
    }
    indexer_sink_create_target_request request{};
    request.struct_size = sizeof(indexer_sink_create_target_request);
    request.suffix = to_raw(suffix);
    indexer_sink_create_target_result raw{};
    raw.struct_size = sizeof(indexer_sink_create_target_result);
    const indexer_sink_write_control raw_control = to_raw(control);
    plugin_->functions_.create_target(raw_, &request, &raw, &raw_control);
    if (raw.status == INDEXER_SINK_OK && (raw.name.size == 0 || raw.name.data == nullptr)) {
        std::string defect = fmt::format(
            "{}: sink plugin '{}' create_target answered OK without a name (a defect of the plugin)",
            instance_, plugin_->name());
        spdlog::error("{}", defect);
        return Status::error(std::move(defect));
    }
    return target_outcome("create_target", raw.status, raw.native_code, raw.message, raw.name);
}

Result<std::string> SinkHandle::switch_target(std::string_view target, bool keep_old,
                                              const WriteControl& control) {
    INDEXER_RETURN_IF_ERROR(can_call("switch_target", has_switch_target(), 3));
    if (target.empty()) {
        return Status::error(
            fmt::format("{}: switch_target needs a target (a name create_target returned)", instance_));
    }
    if (const std::string_view why = refusal(control); !why.empty()) {
        return Status::retryable_error(
            fmt::format("{}: sink '{}' switch_target not started: {}", instance_, plugin_->name(), why));
    }
    indexer_sink_switch_target_request request{};
    request.struct_size = sizeof(indexer_sink_switch_target_request);
    request.target = to_raw(target);
    request.keep_old = keep_old ? 1U : 0U;
    indexer_sink_switch_target_result raw{};
    raw.struct_size = sizeof(indexer_sink_switch_target_result);
    const indexer_sink_write_control raw_control = to_raw(control);
    plugin_->functions_.switch_target(raw_, &request, &raw, &raw_control);
    return target_outcome("switch_target", raw.status, raw.native_code, raw.message, raw.previous);
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
