#include <indexer/cli/dead_letters_command.hpp>
#include <indexer/cli/exit_codes.hpp>
#include <indexer/cli/load_config.hpp>
#include <indexer/config/redaction.hpp>
#include <indexer/config/units.hpp>
#include <indexer/dead_letters/letter.hpp>
#include <indexer/dead_letters/replay_ledger.hpp>
#include <indexer/dead_letters/report.hpp>
#include <indexer/kafka/admin.hpp>
#include <indexer/kafka/producer.hpp>
#include <indexer/kafka/topic_reader.hpp>
#include <indexer/log/logging.hpp>
#include <indexer/publish/announcer.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>

namespace indexer::cli {
namespace {

using namespace std::chrono_literals;

// For metadata, watermarks and committed offsets.
constexpr std::chrono::milliseconds kRequestTimeout = 30s;
// A partition that delivers nothing for this long before its end offset fails the read.
constexpr std::chrono::milliseconds kIdleTimeout = 60s;
// Letters published between two acknowledged commits of the replay position.
constexpr std::size_t kReplayChunk = 500;

std::string dump(const nlohmann::json& json) {
    return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// What a command learns before it reads the letters.
struct DeadLetterTopic {
    std::string name;
    std::vector<kafka::PartitionOffsets> partitions;  // empty when the topic does not exist
    std::map<std::int32_t, dead_letters::ReplayPosition> positions;
};

class DeadLettersRun {
public:
    DeadLettersRun(const DeadLettersOptions& options, std::ostream& out, std::ostream& errors)
        : options_(options), out_(out), errors_(errors) {}

    int run() {
        const auto timeout = config::parse_duration(options_.timeout);
        if (!timeout || timeout->count() <= 0) {
            errors_ << "indexer dead-letters: --timeout: expected a duration such as 30s or 2m, got \""
                    << options_.timeout << "\"\n";
            return kExitUsage;
        }
        auto config = load_config_or_report(options_.config_file, errors_);
        if (!config) return kExitConfigInvalid;
        log::setup(config->logging);
        auto pipeline = find_pipeline(*config, options_.pipeline);
        if (!pipeline) return fail(kExitConfigInvalid, pipeline.error());
        pipeline_ = pipeline.value();

        client_ = {config->kafka.brokers, config->kafka.client_id, config->kafka.properties};
        delivery_timeout_ = *timeout;
        auto admin = kafka::Admin::create(client_);
        if (!admin) return fail(kExitStartupFailed, admin.error());
        auto reader = kafka::TopicReader::create(client_, replay_group(pipeline_->name));
        if (!reader) return fail(kExitStartupFailed, reader.error());
        reader_ = std::move(reader.value());

        DeadLetterTopic topic{pipeline_->dead_letter_topic, {}, {}};
        if (Status status = describe(*admin.value(), topic); !status)
            return fail(kExitFailure, status.message());
        return options_.replay ? replay(topic) : list(topic);
    }

private:
    int fail(int code, const std::string& message) {
        errors_ << "indexer dead-letters: " << config::redact(message) << '\n';
        return code;
    }

    // The partitions of the dead-letter topic with their offsets, and the replay position in each.
    Status describe(kafka::Admin& admin, DeadLetterTopic& topic) {
        auto count = admin.partition_count(topic.name, kRequestTimeout);
        if (!count) return count.status();
        if (!count.value()) return Status::ok();
        auto offsets = admin.offsets(topic.name, std::nullopt, kRequestTimeout);
        if (!offsets) return offsets.status();
        topic.partitions = std::move(offsets.value());
        std::vector<std::int32_t> numbers;
        for (const auto& partition : topic.partitions) numbers.push_back(partition.partition);
        auto committed = reader_->committed(topic.name, numbers, kRequestTimeout);
        if (!committed) return committed.status();
        for (const auto& [partition, offset] : committed.value()) {
            auto pending = dead_letters::decode_pending(offset.metadata);
            if (!pending) {
                spdlog::warn(
                    "{}: the offset of {}[{}] has metadata \"{}\" that a replay did not write; nothing "
                    "below {} is taken as pending",
                    replay_group(pipeline_->name), topic.name, partition, offset.metadata,
                    offset.next_offset);
            }
            topic.positions[partition] = {offset.next_offset,
                                          pending.value_or(std::vector<dead_letters::OffsetRange>{})};
        }
        return Status::ok();
    }

    int list(const DeadLetterTopic& topic) {
        dead_letters::Report report(pipeline_->name, topic.name);
        const dead_letters::ReplayLedger ledger(topic.positions);
        const Status read = reader_->read(
            topic.name, topic.partitions,
            [&](kafka::Message&& message) {
                const dead_letters::Letter letter = dead_letters::read_letter(std::move(message));
                report.add(letter, !letter.replayable() ? dead_letters::LetterState::cannot_replay
                                   : ledger.committed(letter.partition).handled(letter.offset)
                                       ? dead_letters::LetterState::replayed
                                       : dead_letters::LetterState::to_replay);
                return Status::ok();
            },
            kIdleTimeout);
        if (!read) return fail(kExitFailure, read.message());
        if (options_.json) {
            nlohmann::json json = report.to_json();
            json["topic_exists"] = !topic.partitions.empty();
            json["replay_group"] = replay_group(pipeline_->name);
            out_ << dump(json) << '\n';
        } else {
            if (topic.partitions.empty()) out_ << "(topic " << topic.name << " does not exist)\n";
            out_ << report.to_text();
        }
        return kExitOk;
    }

    int replay(const DeadLetterTopic& topic) {
        kafka::ClientOptions producer_client = client_;
        delivery_timeout_ = publish::apply_delivery_timeout(producer_client, delivery_timeout_);
        auto producer = kafka::Producer::create(producer_client);
        if (!producer) return fail(kExitStartupFailed, producer.error());
        dead_letters::ReplayLedger ledger(topic.positions);
        std::map<dead_letters::ReplayChoice, std::uint64_t> counts;
        std::vector<kafka::OutgoingMessage> chunk;
        std::uint64_t published = 0;

        // Publishes the chunk, then commits the position of everything read so far.
        const auto settle = [&]() -> Status {
            if (!chunk.empty()) {
                const std::vector<Status> results = producer.value()->send(chunk, delivery_timeout_ + 10s);
                std::size_t failed = 0;
                std::string first_failure;
                for (const Status& result : results) {
                    if (result) continue;
                    if (failed++ == 0) first_failure = result.message();
                }
                if (failed > 0) {
                    return Status::error(
                        fmt::format("{} of {} replayed message(s) to {} not acknowledged ({}); "
                                    "the replay position stays where it was",
                                    failed, chunk.size(), pipeline_->topic, first_failure));
                }
                published += chunk.size();
                chunk.clear();
            }
            std::map<std::int32_t, kafka::GroupOffset> offsets;
            for (const auto& [partition, position] : ledger.positions())
                offsets[partition] = {position.next_offset, dead_letters::encode_pending(position.pending)};
            return reader_->commit(topic.name, offsets);
        };

        Status status = reader_->read(
            topic.name, topic.partitions,
            [&](kafka::Message&& message) {
                const dead_letters::Letter letter = dead_letters::read_letter(std::move(message));
                const auto choice = dead_letters::choose(letter, ledger.committed(letter.partition),
                                                         pipeline_->name, options_.reason);
                ++counts[choice];
                if (choice == dead_letters::ReplayChoice::replay)
                    chunk.push_back(dead_letters::replay_message(letter, pipeline_->topic));
                ledger.record(letter.partition, letter.offset,
                              choice != dead_letters::ReplayChoice::not_selected);
                return chunk.size() >= kReplayChunk ? settle() : Status::ok();
            },
            kIdleTimeout);
        if (status) status = settle();

        const auto count = [&counts](dead_letters::ReplayChoice choice) { return counts[choice]; };
        using dead_letters::ReplayChoice;
        if (options_.json) {
            out_ << dump({{"pipeline", pipeline_->name},
                          {"topic", topic.name},
                          {"target_topic", pipeline_->topic},
                          {"replayed", published},
                          {"already_replayed", count(ReplayChoice::already_replayed)},
                          {"cannot_replay", count(ReplayChoice::cannot_replay)},
                          {"not_selected", count(ReplayChoice::not_selected)},
                          {"other_pipelines", count(ReplayChoice::other_pipeline)},
                          {"complete", status.is_ok()}})
                 << '\n';
        } else {
            out_ << fmt::format("Replayed {} dead letter(s) of pipeline {} from {} to {}", published,
                                pipeline_->name, topic.name, pipeline_->topic);
            if (topic.partitions.empty()) out_ << fmt::format(" (topic {} does not exist)", topic.name);
            out_ << fmt::format(
                "\nSkipped: {} already replayed, {} cannot be replayed (truncated), {} not matching the "
                "reason, {} of other pipelines\n",
                count(ReplayChoice::already_replayed), count(ReplayChoice::cannot_replay),
                count(ReplayChoice::not_selected), count(ReplayChoice::other_pipeline));
        }
        if (!status) return fail(kExitFailure, status.message());
        return kExitOk;
    }

    const DeadLettersOptions& options_;
    std::ostream& out_;
    std::ostream& errors_;
    const config::PipelineConfig* pipeline_ = nullptr;
    kafka::ClientOptions client_;
    std::chrono::milliseconds delivery_timeout_{0};
    std::unique_ptr<kafka::TopicReader> reader_;
};

}  // namespace

std::string replay_group(const std::string& pipeline) {
    return pipeline + ".dead-letters-replay";
}

int dead_letters_command(const DeadLettersOptions& options, std::ostream& out, std::ostream& errors) {
    return DeadLettersRun(options, out, errors).run();
}

}  // namespace indexer::cli
