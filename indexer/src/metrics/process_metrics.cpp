#include <indexer/metrics/process_metrics.hpp>

#include <indexer/version.hpp>

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <string>

namespace indexer::metrics {
namespace {

prometheus::MetricFamily gauge_family(std::string name, std::string help, double value,
                                      std::vector<prometheus::ClientMetric::Label> labels = {}) {
    prometheus::MetricFamily family;
    family.name = std::move(name);
    family.help = std::move(help);
    family.type = prometheus::MetricType::Gauge;
    family.metric.push_back(gauge_sample(value, std::move(labels)));
    return family;
}

double seconds_since_epoch(std::chrono::system_clock::time_point time) {
    return std::chrono::duration<double>(time.time_since_epoch()).count();
}

}  // namespace

std::optional<std::uint64_t> resident_bytes_from_statm(std::string_view statm, std::uint64_t page_size) {
    // Fields: size resident shared text lib data dt, in pages.
    const std::size_t first_end = statm.find(' ');
    if (first_end == std::string_view::npos) return std::nullopt;
    const std::string_view rest = statm.substr(first_end + 1);
    std::uint64_t pages = 0;
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), pages);
    if (error != std::errc() || end == rest.data()) return std::nullopt;
    return pages * page_size;
}

Registry::CollectorHandle add_process_metrics(Registry& registry,
                                              std::chrono::system_clock::time_point started) {
    const auto page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    return registry.add_collector([started, page_size] {
        std::vector<prometheus::MetricFamily> families;
        families.push_back(gauge_family("indexer_build_info", "Always 1; the version of the running indexer.",
                                        1, {{"version", std::string(kVersion)}}));
        families.push_back(gauge_family("indexer_process_start_time_seconds",
                                        "When the process started, in seconds since the Unix epoch.",
                                        seconds_since_epoch(started)));
        families.push_back(
            gauge_family("indexer_process_uptime_seconds", "Seconds since the process started.",
                         std::chrono::duration<double>(std::chrono::system_clock::now() - started).count()));
        std::ifstream statm("/proc/self/statm");
        const std::string text((std::istreambuf_iterator<char>(statm)), std::istreambuf_iterator<char>());
        if (const auto resident = resident_bytes_from_statm(text, page_size)) {
            families.push_back(gauge_family("indexer_process_resident_memory_bytes",
                                            "Resident memory of the process (from /proc/self/statm).",
                                            static_cast<double>(*resident)));
        }
        return families;
    });
}

}  // namespace indexer::metrics
