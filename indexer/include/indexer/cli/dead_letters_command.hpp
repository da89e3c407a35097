// `indexer dead-letters`: lists a pipeline's dead letters grouped by stage and
// cause, and replays them to the pipeline's topic once the cause is fixed.
//
// Both read the dead-letter topic from its first retained message to the end
// offsets seen at the start, with a reader that joins no group. A replay
// publishes each selected letter's original key, value and headers (without
// the indexer.* headers) to the pipeline's topic and, once they are
// acknowledged, commits its position under the group
// "<pipeline>.dead-letters-replay" (dead_letters/replay_ledger.hpp): a repeated
// replay publishes nothing twice, one that stopped half-way resumes, and the
// listing tells replayed letters from the others. Letters whose key, value or
// headers were left out of the copy cannot be replayed; they are counted.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

namespace indexer::cli {

struct DeadLettersOptions {
    std::filesystem::path config_file;
    std::string pipeline;
    bool json = false;    // one JSON object on stdout instead of text
    bool replay = false;  // replay instead of listing
    std::string reason;   // with replay: only letters whose reason contains it
    // How long a replayed message may take to be acknowledged (librdkafka's
    // message.timeout.ms unless the configuration sets it).
    std::string timeout = "60s";
};

// The consumer group holding the replay position of `pipeline`.
std::string replay_group(const std::string& pipeline);

// Returns the exit code: 0 done, 1 the topic could not be read or a replayed
// message was not acknowledged (or its position not committed), 2 invalid
// configuration or unknown pipeline, 3 a Kafka client could not be created,
// 64 a wrong option value. Errors go to `errors`, with secrets redacted.
int dead_letters_command(const DeadLettersOptions& options, std::ostream& out, std::ostream& errors);

}  // namespace indexer::cli
