// The standard battery that every sink plugin must pass, against a real
// backend described by its configuration. One line per check on `out`.
#pragma once

#include <indexer/plugin/sink_plugin.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <ostream>
#include <string>

namespace indexer::sink_check {

struct BatteryOptions {
    std::string instance = "sink-check";  // the name the plugin sees as its user
    std::size_t large_batch = 10'000;     // ops in the large batch
    std::chrono::seconds check_timeout{300};
};

// Runs every check, prints "PASS  name  (detail)" or "FAIL  name: reason" for
// each, and returns how many failed. Ids are unique to this run, and what the
// battery writes it deletes again.
int run_battery(const std::shared_ptr<const plugin::SinkPlugin>& plugin, const std::string& config_json,
                const BatteryOptions& options, std::ostream& out);

}  // namespace indexer::sink_check
