#include <indexer/health/readiness.hpp>

#include <indexer/config/redaction.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <exception>

namespace indexer::health {

std::string ReadinessReport::to_json() const {
    nlohmann::json not_ready = nlohmann::json::array();
    nlohmann::json all = nlohmann::json::array();
    for (const Check& check : checks) {
        if (!check.ok) not_ready.push_back(check.name);
        all.push_back({{"name", check.name}, {"ok", check.ok}, {"detail", check.detail}});
    }
    const nlohmann::json body{{"ready", ready}, {"not_ready", not_ready}, {"checks", all}};
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

PeriodicProbe::PeriodicProbe(std::string name, std::function<Status()> probe,
                             std::chrono::milliseconds interval)
    : name_(std::move(name)),
      probe_(std::move(probe)),
      interval_(interval),
      started_(Clock::now()),
      in_flight_(true) {  // the first probe counts from now, even before its thread runs
    thread_ = std::thread([this] { loop(); });
}

PeriodicProbe::~PeriodicProbe() {
    request_stop();
    thread_.join();
}

void PeriodicProbe::request_stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
}

void PeriodicProbe::loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        in_flight_ = true;
        started_ = Clock::now();
        lock.unlock();
        Status result;
        try {
            result = probe_();
        } catch (const std::exception& error) {
            result = Status::error(error.what());
        }
        lock.lock();
        in_flight_ = false;
        last_ = std::move(result);
        wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
}

Check PeriodicProbe::check(Clock::time_point now, Clock::duration stale_after) const {
    std::lock_guard lock(mutex_);
    Check check{name_, false, {}};
    if (in_flight_ && now - started_ > stale_after) {
        check.detail = fmt::format("no answer for {} s",
                                   std::chrono::duration_cast<std::chrono::seconds>(now - started_).count());
    } else if (!last_) {
        check.detail = "not probed yet";
    } else if (!*last_) {
        // Whatever a client library put in its message, no secret of the configuration is shown.
        check.detail = config::redact(last_->message());
    } else {
        check.ok = true;
        check.detail = "ok";
    }
    return check;
}

ReadinessMonitor::ReadinessMonitor(std::function<Status()> database_probe,
                                   std::vector<PipelineTarget> pipelines, ReadinessOptions options)
    : options_(options) {
    if (database_probe) {
        database_ = std::make_unique<PeriodicProbe>("database", std::move(database_probe), options_.interval);
    }
    for (PipelineTarget& target : pipelines) {
        auto sink = std::make_unique<PeriodicProbe>("pipeline " + target.name + ": sink",
                                                    std::move(target.sink_probe), options_.interval);
        pipelines_.push_back({std::move(target.name), target.stats, std::move(sink)});
    }
}

ReadinessMonitor::~ReadinessMonitor() {
    request_stop();
}

void ReadinessMonitor::request_stop() {
    if (database_) database_->request_stop();
    for (const Pipeline& pipeline : pipelines_) pipeline.sink->request_stop();
}

ReadinessReport ReadinessMonitor::report() const {
    const auto now = PeriodicProbe::Clock::now();
    ReadinessReport report;
    if (database_) report.checks.push_back(database_->check(now, options_.stale_after));
    for (const Pipeline& pipeline : pipelines_) {
        Check group{"pipeline " + pipeline.name + ": consumer group", false, "not joined yet"};
        if (pipeline.stats->group_joined.load()) {
            group.ok = true;
            group.detail =
                fmt::format("joined, {} partitions assigned", pipeline.stats->assigned_partitions.load());
        }
        report.checks.push_back(std::move(group));
        report.checks.push_back(pipeline.sink->check(now, options_.stale_after));
        // A sink can answer its health probe while refusing every write (a blocked,
        // closed or missing index, a mapping conflict): the pipeline's own pause tells.
        Check writes{"pipeline " + pipeline.name + ": writes", true, "not paused"};
        if (pipeline.stats->paused.load()) {
            writes.ok = false;
            writes.detail = config::redact("paused: " + pipeline.stats->pause_reason.get());
        }
        report.checks.push_back(std::move(writes));
    }
    report.ready =
        std::all_of(report.checks.begin(), report.checks.end(), [](const Check& c) { return c.ok; });
    return report;
}

std::string with_connection_option(const std::string& url, const std::string& key, const std::string& value) {
    if (url.find("://") != std::string::npos) {
        return url + (url.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
    }
    return url + " " + key + "=" + value;
}

std::function<Status()> database_probe(const std::string& url, std::chrono::seconds timeout) {
    std::string options = with_connection_option(url, "connect_timeout", std::to_string(timeout.count()));
    options = with_connection_option(options, "tcp_user_timeout",
                                     std::to_string(std::chrono::milliseconds(timeout).count()));
    options = with_connection_option(options, "application_name", "indexer-readiness");
    auto connection = std::make_shared<std::unique_ptr<pqxx::connection>>();
    return [options, connection]() -> Status {
        try {
            if (!*connection || !(*connection)->is_open())
                *connection = std::make_unique<pqxx::connection>(options);
            pqxx::nontransaction transaction(**connection);
            transaction.exec("SELECT 1");
            return Status::ok();
        } catch (const std::exception& error) {
            connection->reset();
            std::string message = error.what();
            while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
            return Status::error("PostgreSQL: " + message);
        }
    };
}

std::function<Status()> sink_probe(const config::PipelineConfig& pipeline,
                                   const plugin::PluginLoader& plugins) {
    struct State {
        std::string plugin;
        std::string config;
        std::string instance;
        const plugin::PluginLoader* plugins;
        std::optional<plugin::SinkHandle> handle;
    };
    auto state = std::make_shared<State>(State{
        pipeline.sink.plugin, pipeline.sink.config.dump(), pipeline.name + " (readiness)", &plugins, {}});
    return [state]() -> Status {
        if (!state->handle) {
            auto loaded = state->plugins->load(state->plugin);
            if (!loaded) return Status::error("sink plugin: " + loaded.error());
            auto opened = loaded.value()->open(state->instance, state->config);
            if (!opened) return Status::error("sink " + state->plugin + ": " + opened.error());
            state->handle.emplace(std::move(opened.value()));
        }
        const Status health = state->handle->health();
        if (!health) return Status::error("sink " + state->plugin + ": " + health.message());
        return Status::ok();
    };
}

std::unique_ptr<ReadinessMonitor> start_readiness_monitor(
    const config::Config& config, const std::vector<std::unique_ptr<pipeline::Pipeline>>& pipelines,
    const plugin::PluginLoader& plugins, ReadinessOptions options) {
    std::vector<ReadinessMonitor::PipelineTarget> targets;
    for (const auto& running : pipelines) {
        const auto found =
            std::find_if(config.pipelines.begin(), config.pipelines.end(),
                         [&](const config::PipelineConfig& p) { return p.name == running->name(); });
        if (found == config.pipelines.end()) continue;
        targets.push_back({running->name(), &running->stats(), sink_probe(*found, plugins)});
    }
    std::function<Status()> database;
    if (!targets.empty() && !config.postgres.url.empty()) {
        const auto timeout =
            std::chrono::duration_cast<std::chrono::seconds>(config.postgres.connect_timeout);
        database = database_probe(config.postgres.url, std::max(timeout, std::chrono::seconds(1)));
    }
    return std::make_unique<ReadinessMonitor>(std::move(database), std::move(targets), options);
}

}  // namespace indexer::health
