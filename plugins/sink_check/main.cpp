// indexer-sink-check PLUGIN CONFIG_JSON_FILE
//
// Loads a sink plugin (by name from the plugin search path, or by path) and
// runs the conformance battery against the backend its configuration points
// at. Exit status: 0 when every check passed, 1 when one failed, 2 when the
// plugin or the configuration file could not be loaded.
#include "conformance_battery.hpp"

#include <indexer/plugin/plugin_loader.hpp>
#include <indexer/plugin/plugin_search_path.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

bool read_config(const std::string& file, std::string& text) {
    if (file == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        return true;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) return false;
    std::ostringstream content;
    content << in.rdbuf();
    text = content.str();
    return true;
}

int run_sink_check(int argc, char** argv) {
    CLI::App app{"Runs the conformance battery of the indexer on a sink plugin, against a real backend"};
    std::string plugin_name;
    std::string config_file;
    std::vector<std::string> plugin_dirs;
    indexer::sink_check::BatteryOptions options;
    int timeout_seconds = static_cast<int>(options.check_timeout.count());
    app.add_option("plugin", plugin_name, "Plugin name (looked up like the indexer does) or path to its .so")
        ->required();
    app.add_option("config", config_file,
                   "File holding the plugin's configuration (a JSON object); - for stdin")
        ->required();
    app.add_option("--plugin-dir", plugin_dirs, "Also search this directory, before the others (repeatable)");
    app.add_option("--instance", options.instance, "Instance name the plugin sees (a pipeline's name)")
        ->capture_default_str();
    app.add_option("--large-batch", options.large_batch, "Ops in the large batch")->capture_default_str();
    app.add_option("--timeout", timeout_seconds, "Seconds one check may take before it counts as hung")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    bool verbose = false;
    app.add_flag("-v,--verbose", verbose, "Show the plugin's log lines below warnings too");
    CLI11_PARSE(app, argc, argv);
    // The checks own stdout; the plugin's log lines go to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("sink-check"));
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
    options.check_timeout = std::chrono::seconds{timeout_seconds};

    std::string config;
    if (!read_config(config_file, config)) {
        std::cerr << "indexer-sink-check: cannot read the configuration file " << config_file << '\n';
        return 2;
    }
    const indexer::plugin::PluginLoader loader(indexer::plugin::plugin_search_path(plugin_dirs));
    auto plugin = loader.load(plugin_name);
    if (!plugin) {
        std::cout << "FAIL  loads: " << plugin.error() << '\n';
        return 2;
    }
    const auto& info = plugin.value()->info();
    std::cout << "PASS  loads  (" << info.name << ' ' << info.version << ", ABI " << info.abi_major << '.'
              << info.abi_minor << ", " << info.path.string() << ")\n";

    const int failed = indexer::sink_check::run_battery(plugin.value(), config, options, std::cout);
    if (failed != 0) {
        std::cout << failed << (failed == 1 ? " check" : " checks") << " failed\n";
        return 1;
    }
    std::cout << "all checks passed\n";
    return 0;
}

}  // namespace

// Nothing escapes main: an exception that got this far (a failed allocation
// while the command line is built, say) ends the process with a message and
// an exit code instead of std::terminate.
int main(int argc, char** argv) {
    try {
        return run_sink_check(argc, argv);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "indexer-sink-check: %s\n", error.what());
    } catch (...) {
        std::fputs("indexer-sink-check: unknown error\n", stderr);
    }
    return 2;
}
