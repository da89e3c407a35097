// `indexer publish`: announces changed rows of a pipeline's table the way an
// application does (DESIGN.md §1): for each id a delay message, then an instant
// message, keyed by the id. Ids come from the arguments or from stdin, one per
// line (blank lines skipped), streamed: memory stays bounded by the messages in
// flight, whatever the number of ids.
#pragma once

#include <indexer/config/config.hpp>
#include <indexer/publish/announcer.hpp>
#include <indexer/util/status.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace indexer::cli {

struct PublishOptions {
    std::filesystem::path config_file;
    std::string pipeline;
    // Ids; "-" reads stdin at that place. None at all: stdin.
    std::vector<std::string> ids;
    // Sends the delay messages to this topic instead of the delayers' topics.
    std::string delay_topic;
    bool no_delay = false;
    // How long a message may take to be acknowledged (librdkafka's
    // message.timeout.ms unless the configuration sets it); "60s".
    std::string timeout = "60s";
};

// Where the messages of `pipeline` go: its topic and id field, and the delay
// topics: `delay_topic` when given; else the topic of every delayer whose
// target_topic is the pipeline's topic (each is a configured repair path: all
// of them get the delay message); else "<topic>-delay", KafkaSync's name.
// None with `no_delay`. An unknown pipeline is an error naming the known ones.
Result<publish::Targets> publish_targets(const config::Config& config, const std::string& pipeline,
                                         const std::string& delay_topic, bool no_delay);

// Returns the exit code: 0 every message acknowledged, 1 some failed (how many
// and why on stderr), 2 invalid configuration or unknown pipeline, 3 the
// producer could not be created, 64 a wrong option value.
int publish_command(const PublishOptions& options);

}  // namespace indexer::cli
