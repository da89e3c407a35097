#include <indexer/cli/check_config_command.hpp>
#include <indexer/cli/exit_codes.hpp>
#include <indexer/cli/load_config.hpp>
#include <indexer/kafka/admin.hpp>
#include <indexer/pipeline/pipeline.hpp>
#include <indexer/plugin/plugin_loader.hpp>
#include <indexer/plugin/plugin_search_path.hpp>
#include <indexer/postgres/batch_loader.hpp>

#include <indexer/config/redaction.hpp>
#include <indexer/config/sql.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

namespace indexer::cli {
namespace {

constexpr auto kProbeTimeout = std::chrono::seconds(10);

class Report {
public:
    explicit Report(std::ostream& out) : out_(out) {}
    void ok(const std::string& what, const std::string& detail) { line("ok", what, detail); }
    void warn(const std::string& what, const std::string& detail) { line("warn", what, detail); }
    void fail(const std::string& what, const std::string& detail) {
        line("FAIL", what, detail);
        failed_ = true;
    }
    bool failed() const { return failed_; }

private:
    void line(const char* verdict, const std::string& what, const std::string& detail) {
        // The details are client libraries' error texts, which may echo a secret.
        out_ << fmt::format("{:<5} {:<34} {}\n", verdict, config::redact(what), config::redact(detail))
             << std::flush;
    }
    std::ostream& out_;
    bool failed_ = false;
};

void check_topic(Report& report, kafka::Admin& admin, const std::string& topic, const std::string& user) {
    auto partitions = admin.partition_count(topic, kProbeTimeout);
    const std::string what = "kafka topic " + topic;
    if (!partitions) {
        report.fail(what, partitions.error());
    } else if (!partitions.value()) {
        report.warn(what, "does not exist yet (" + user +
                              "); the broker creates it on first use only if "
                              "auto.create.topics.enable is on");
    } else {
        report.ok(what, fmt::format("{} partitions ({})", *partitions.value(), user));
    }
}

// Asked once, and only when a dead-letter topic is missing.
class TopicCreation {
public:
    explicit TopicCreation(kafka::Admin& admin) : admin_(admin) {}
    const Result<bool>& on_produce() {
        if (!answer_) answer_ = admin_.producing_creates_topics(kProbeTimeout);
        return *answer_;
    }

private:
    kafka::Admin& admin_;
    std::optional<Result<bool>> answer_;
};

// A missing dead-letter topic breaks nothing until the first bad message, whose
// dead letter then cannot be acknowledged: the pipeline pauses and retries
// until someone creates the topic. Unless producing creates it, that fails the check.
void check_dead_letter_topic(Report& report, kafka::Admin& admin, TopicCreation& creation,
                             const std::string& topic, const std::string& owner, const std::string& key) {
    auto partitions = admin.partition_count(topic, kProbeTimeout);
    const std::string what = "kafka topic " + topic;
    if (!partitions) {
        report.fail(what, partitions.error());
        return;
    }
    if (partitions.value()) {
        report.ok(what, fmt::format("{} partitions (dead letters of {})", *partitions.value(), owner));
        return;
    }
    const std::string missing = fmt::format("the dead-letter topic of {} ({}) does not exist", owner, key);
    const auto& creates = creation.on_produce();
    if (creates && creates.value()) {
        report.warn(what, missing +
                              "; the broker creates it at the first dead letter, with its default partitions "
                              "and replication (auto.create.topics.enable)");
    } else if (creates) {
        report.fail(what, missing +
                              " and the broker will not create it (auto.create.topics.enable or "
                              "allow.auto.create.topics is off): the first dead letter would pause the "
                              "pipeline until it exists; create it");
    } else {
        report.fail(what, missing + " and whether the broker would create it is unknown (" + creates.error() +
                              "); create it");
    }
}

}  // namespace

int check_config_command(const std::filesystem::path& config_file,
                         const std::vector<std::string>& plugin_dirs, std::ostream& out) {
    auto config = load_config_or_report(config_file, out);
    if (!config) return kExitConfigInvalid;
    // Plugins and clients log through spdlog; keep those lines off the report.
    spdlog::set_level(spdlog::level::warn);
    Report report(out);
    report.ok("configuration " + config_file.filename().string(),
              fmt::format("{} pipelines, {} delayers", config->pipelines.size(), config->delayers.size()));

    const kafka::ClientOptions client{config->kafka.brokers, config->kafka.client_id,
                                      config->kafka.properties};
    auto admin = kafka::Admin::create(client);
    if (!admin) {
        report.fail("kafka " + config->kafka.brokers, admin.error());
    } else if (auto cluster = admin.value()->probe(kProbeTimeout); !cluster) {
        report.fail("kafka " + config->kafka.brokers, cluster.error());
    } else {
        report.ok("kafka " + config->kafka.brokers,
                  fmt::format("{} broker(s), answered by {}", cluster->broker_count, cluster->origin_broker));
        TopicCreation creation(*admin.value());
        for (std::size_t i = 0; i < config->pipelines.size(); ++i) {
            const auto& pipeline = config->pipelines[i];
            check_topic(report, *admin.value(), pipeline.topic, pipeline.name);
            check_dead_letter_topic(report, *admin.value(), creation, pipeline.dead_letter_topic,
                                    "pipeline " + pipeline.name,
                                    fmt::format("pipelines[{}].dead_letter_topic", i));
        }
        for (std::size_t i = 0; i < config->delayers.size(); ++i) {
            const auto& delayer = config->delayers[i];
            check_topic(report, *admin.value(), delayer.topic, delayer.name);
            check_topic(report, *admin.value(), delayer.target_topic, delayer.name);
            if (delayer.dead_letter_topic) {
                check_dead_letter_topic(report, *admin.value(), creation, *delayer.dead_letter_topic,
                                        "delayer " + delayer.name,
                                        fmt::format("delayers[{}].dead_letter_topic", i));
            }
        }
    }

    std::vector<std::string> dirs;
    for (const auto& dir : config->plugins.paths) dirs.push_back(dir.string());
    dirs.insert(dirs.end(), plugin_dirs.begin(), plugin_dirs.end());
    const plugin::PluginLoader plugins(plugin::plugin_search_path(dirs));

    for (const auto& pipeline : config->pipelines) {
        // The same options as `run`: the probe waits as long, and checks the version expression too.
        auto loader = postgres::BatchLoader::create(indexer::pipeline::loader_options(*config, pipeline));
        if (loader) {
            std::string versions = "unversioned";
            if (loader->version_kind() != postgres::VersionKind::none) {
                versions = fmt::format("versions from `{}` ({}, {})", *pipeline.source.version,
                                       loader->version_type(),
                                       loader->version_kind() == postgres::VersionKind::timestamp
                                           ? "microseconds; deletes carry the database's clock"
                                           : "integer; deletes unversioned");
            }
            report.ok("postgres (" + pipeline.name + ")",
                      "query prepared, id type " + loader->id_type() + ", " + versions);
        } else {
            report.fail("postgres (" + pipeline.name + ")", loader.error());
        }

        const std::string what = "sink (" + pipeline.name + ")";
        auto plugin = plugins.load(pipeline.sink.plugin);
        if (!plugin) {
            report.fail(what, plugin.error());
            continue;
        }
        const auto& info = plugin.value()->info();
        auto sink = plugin.value()->open(pipeline.name, pipeline.sink.config.dump());
        if (!sink) {
            report.fail(what, sink.error());
            continue;
        }
        if (const Status health = sink->health(); !health) {
            report.fail(what, fmt::format("{} {}: {}", info.name, info.version, health.message()));
        } else {
            report.ok(what, fmt::format("{} {} ({}), {}", info.name, info.version, info.path.string(),
                                        sink->has_health() ? "healthy" : "opened (it has no health probe)"));
        }
    }
    return report.failed() ? kExitFailure : kExitOk;
}

}  // namespace indexer::cli
