#include <indexer/cli/exit_codes.hpp>
#include <indexer/cli/load_config.hpp>
#include <indexer/cli/run_command.hpp>
#include <indexer/delayer/delayer.hpp>
#include <indexer/http/operations_endpoint.hpp>
#include <indexer/log/logging.hpp>
#include <indexer/pipeline/pipeline.hpp>
#include <indexer/plugin/plugin_loader.hpp>
#include <indexer/plugin/plugin_search_path.hpp>
#include <indexer/util/backoff.hpp>
#include <indexer/util/stop_signal.hpp>

#include <spdlog/spdlog.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

namespace indexer::cli {
namespace {

// SIGINT/SIGTERM are blocked in every thread and taken here, outside any
// signal handler: the first asks every loop to stop, the second exits at once.
class SignalWatcher {
public:
    explicit SignalWatcher(StopSignal& stop) : stop_(stop) {
        sigemptyset(&signals_);
        sigaddset(&signals_, SIGINT);
        sigaddset(&signals_, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
        thread_ = std::thread([this] { watch(); });
    }
    ~SignalWatcher() {
        done_ = true;
        thread_.join();
    }
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

private:
    void watch() {
        const timespec tick{0, 200'000'000};
        int received = 0;
        while (!done_) {
            const int signal_number = sigtimedwait(&signals_, nullptr, &tick);
            if (signal_number < 0) continue;
            if (++received == 1) {
                spdlog::info(
                    "received {}: finishing the batches in hand, then stopping (again to stop at once)",
                    signal_number == SIGINT ? "SIGINT" : "SIGTERM");
                stop_.request();
            } else {
                spdlog::warn("received a second signal: stopping now, nothing more is committed");
                spdlog::default_logger()->flush();
                ::_exit(kExitInterrupted);
            }
        }
    }

    StopSignal& stop_;
    sigset_t signals_{};
    std::atomic<bool> done_{false};
    std::thread thread_;
};

template <class Item>
std::vector<const Item*> select(const std::vector<Item>& items, const std::vector<std::string>& names,
                                bool select_all, const char* what, std::vector<std::string>& errors) {
    std::vector<const Item*> selected;
    if (select_all) {
        for (const Item& item : items) {
            if constexpr (requires { item.enabled; }) {
                if (!item.enabled) continue;
            }
            selected.push_back(&item);
        }
        return selected;
    }
    for (const std::string& name : names) {
        const auto found =
            std::find_if(items.begin(), items.end(), [&](const Item& item) { return item.name == name; });
        if (found == items.end()) {
            errors.push_back(std::string("no ") + what + " named \"" + name + "\" in the configuration");
        } else {
            selected.push_back(&*found);
        }
    }
    return selected;
}

}  // namespace

int run_command(const RunOptions& options) {
    auto config = load_config_or_report(options.config_file, std::cerr);
    if (!config) return kExitConfigInvalid;
    log::setup(config->logging);

    const bool everything = options.pipelines.empty() && options.delayers.empty();
    std::vector<std::string> errors;
    const auto pipelines = select(config->pipelines, options.pipelines, everything, "pipeline", errors);
    const auto delayers = select(config->delayers, options.delayers, everything, "delayer", errors);
    if (!errors.empty() || (pipelines.empty() && delayers.empty())) {
        for (const auto& error : errors) std::cerr << "indexer: " << error << '\n';
        if (errors.empty()) std::cerr << "indexer: nothing to run: no pipeline or delayer selected\n";
        return kExitConfigInvalid;
    }

    StopSignal stop;
    SignalWatcher signals(stop);

    // /metrics and /healthz from the start; /readyz says 503 until everything runs.
    auto operations = http::OperationsEndpoint::start(*config);
    if (!operations) {
        spdlog::error("start-up failed: {}", operations.error());
        return kExitStartupFailed;
    }

    std::vector<std::string> plugin_dirs;
    for (const auto& dir : config->plugins.paths) plugin_dirs.push_back(dir.string());
    plugin_dirs.insert(plugin_dirs.end(), options.plugin_dirs.begin(), options.plugin_dirs.end());
    const plugin::PluginLoader plugins(plugin::plugin_search_path(plugin_dirs));

    // Start-up: a service that is down is waited for; a mistake (plugin, query) stops start-up.
    std::vector<std::unique_ptr<pipeline::Pipeline>> running;
    for (const config::PipelineConfig* pipeline : pipelines) {
        Backoff backoff(std::chrono::milliseconds(500), std::chrono::seconds(30));
        while (true) {
            auto created =
                pipeline::Pipeline::create(*config, *pipeline, plugins, &operations.value()->registry());
            if (created) {
                running.push_back(std::move(created.value()));
                break;
            }
            if (!created.status().is_retryable()) {
                spdlog::error("start-up failed: {}", created.error());
                return kExitStartupFailed;
            }
            const auto delay = backoff.next();
            spdlog::warn("start-up of {} waits: {}; next try in {} ms", pipeline->name, created.error(),
                         delay.count());
            if (stop.wait_for(delay)) return kExitOk;
        }
    }

    std::vector<std::unique_ptr<delayer::Delayer>> running_delayers;
    for (const config::DelayerConfig* delayer : delayers) {
        delayer::DelayerOptions delayer_options;
        delayer_options.name = delayer->name;
        delayer_options.topic = delayer->topic;
        delayer_options.target_topic = delayer->target_topic;
        delayer_options.delay = delayer->delay;
        delayer_options.dead_letter_topic = delayer->dead_letter_topic;
        delayer_options.kafka = {config->kafka.brokers, config->kafka.client_id, config->kafka.properties};
        auto created = delayer::Delayer::create(std::move(delayer_options));
        if (!created) {
            spdlog::error("start-up failed: delayer {}: {}", delayer->name, created.error());
            return kExitStartupFailed;
        }
        running_delayers.push_back(std::move(created.value()));
    }

    operations.value()->watch(*config, running, running_delayers, plugins);

    std::atomic<bool> failed{false};
    std::atomic<std::size_t> finished{0};
    std::vector<std::thread> threads;
    threads.reserve(running.size() + running_delayers.size());
    const auto report = [&](const Status& status) {
        if (!status) {
            spdlog::error("{}", status.message());
            failed = true;
            stop.request();
        }
        ++finished;
    };
    for (auto& pipeline : running) {
        threads.emplace_back([&pipeline, &stop, &report] { report(pipeline->run(stop)); });
    }
    for (auto& delayer : running_delayers) {
        threads.emplace_back([&delayer, &report] { report(delayer->run()); });
    }
    // Pipelines watch the stop signal themselves; delayers are told.
    while (!stop.wait_for(std::chrono::milliseconds(200)) && finished < threads.size()) {
    }
    for (auto& delayer : running_delayers) delayer->stop();
    for (auto& thread : threads) thread.join();
    operations.value()->stop();  // before what it watches goes
    spdlog::info("stopped");
    return failed ? kExitFailure : kExitOk;
}

}  // namespace indexer::cli
