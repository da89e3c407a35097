// The process's own metrics:
//
//   indexer_build_info{version}                 1
//   indexer_process_start_time_seconds          Unix time the process started
//   indexer_process_uptime_seconds
//   indexer_process_resident_memory_bytes       from /proc/self/statm
#pragma once

#include <indexer/metrics/registry.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace indexer::metrics {

// Registers a collector; the metrics disappear when the handle is destroyed.
[[nodiscard]] Registry::CollectorHandle add_process_metrics(
    Registry& registry, std::chrono::system_clock::time_point started = std::chrono::system_clock::now());

// The resident set size in /proc/<pid>/statm's text ("size resident shared
// ..." in pages), or nullopt when the text is not that.
std::optional<std::uint64_t> resident_bytes_from_statm(std::string_view statm, std::uint64_t page_size);

}  // namespace indexer::metrics
