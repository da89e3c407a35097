#include <indexer/cli/exit_codes.hpp>
#include <indexer/cli/load_config.hpp>
#include <indexer/cli/publish_command.hpp>
#include <indexer/config/units.hpp>
#include <indexer/kafka/producer.hpp>
#include <indexer/log/logging.hpp>
#include <indexer/publish/announcement.hpp>
#include <indexer/util/progress.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_set>

namespace indexer::cli {
namespace {

// Delivery reports are served every this many ids, for the progress line and
// so that failures are known early.
constexpr std::uint64_t kCollectEvery = 1000;
// Beyond librdkafka's own message timeout, after which it has reported every message.
constexpr std::chrono::seconds kReportGrace{10};
// Distinct failure reasons printed; the rest are counted.
constexpr std::size_t kReasonsShown = 10;

std::string_view trim(std::string_view text) {
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

bool reads_stdin(const std::vector<std::string>& ids) {
    return ids.empty() || std::find(ids.begin(), ids.end(), "-") != ids.end();
}

// The non-blank lines from the current offset of `fd` to its end when it is a
// regular file (read with pread: the offset stays where it is); nothing for a
// pipe or a terminal, whose lines cannot be counted before they are read.
std::optional<std::uint64_t> count_lines_ahead(int fd) {
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
    off_t offset = ::lseek(fd, 0, SEEK_CUR);
    if (offset < 0) return std::nullopt;
    std::vector<char> buffer(1 << 16);
    std::uint64_t lines = 0;
    bool blank = true;
    for (;;) {
        const ssize_t got = ::pread(fd, buffer.data(), buffer.size(), offset);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return std::nullopt;
        if (got == 0) break;
        for (ssize_t i = 0; i < got; ++i) {
            const char c = buffer[static_cast<std::size_t>(i)];
            if (c == '\n') {
                if (!blank) ++lines;
                blank = true;
            } else if (c != ' ' && c != '\t' && c != '\r') {
                blank = false;
            }
        }
        offset += got;
    }
    return blank ? lines : lines + 1;
}

// The total number of ids when it can be known before reading them.
std::optional<std::uint64_t> known_total(const std::vector<std::string>& ids) {
    std::uint64_t total = 0;
    for (const auto& id : ids) {
        if (id != "-" && !trim(id).empty()) ++total;
    }
    if (!reads_stdin(ids)) return total;
    const auto lines = count_lines_ahead(STDIN_FILENO);
    if (!lines) return std::nullopt;
    return total + *lines;
}

// The failed messages: how many, of how many ids, and why.
class FailureTally {
public:
    void add(publish::Failure failure) {
        ++messages_;
        ids_.insert(failure.id);
        Reason& reason = reasons_[{failure.topic, failure.reason}];
        if (reason.count++ == 0) reason.example_id = std::move(failure.id);
    }
    std::uint64_t messages() const noexcept { return messages_; }
    std::uint64_t ids() const noexcept { return ids_.size(); }

    void print(std::ostream& out) const {
        std::size_t shown = 0;
        for (const auto& [where, reason] : reasons_) {
            if (shown++ == kReasonsShown) {
                out << "  ... and " << reasons_.size() - kReasonsShown << " other reason(s)\n";
                break;
            }
            out << fmt::format("  {} message(s) to {}: {} (id {} among them)\n", reason.count, where.first,
                               where.second, reason.example_id);
        }
    }

private:
    struct Reason {
        std::uint64_t count = 0;
        std::string example_id;
    };
    std::uint64_t messages_ = 0;
    std::unordered_set<std::string> ids_;
    std::map<std::pair<std::string, std::string>, Reason> reasons_;  // by topic and reason
};

std::string describe_targets(const publish::Targets& targets) {
    std::string text = "instant messages to " + targets.topic + ", ";
    if (targets.delay_topics.empty()) return text + "no delay messages";
    text += "delay messages to ";
    for (std::size_t i = 0; i < targets.delay_topics.size(); ++i) {
        text += (i > 0 ? " and " : "") + targets.delay_topics[i];
    }
    return text;
}

std::int64_t seconds_since_epoch() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

Result<publish::Targets> publish_targets(const config::Config& config, const std::string& pipeline,
                                         const std::string& delay_topic, bool no_delay) {
    auto named = find_pipeline(config, pipeline);
    if (!named) return named.status();
    const config::PipelineConfig* found = named.value();
    publish::Targets targets{found->topic, {}, found->id_field};
    if (no_delay) return targets;
    if (!delay_topic.empty()) {
        targets.delay_topics.push_back(delay_topic);
        return targets;
    }
    for (const auto& delayer : config.delayers) {
        if (delayer.target_topic != found->topic) continue;
        if (std::find(targets.delay_topics.begin(), targets.delay_topics.end(), delayer.topic) ==
            targets.delay_topics.end()) {
            targets.delay_topics.push_back(delayer.topic);
        }
    }
    if (targets.delay_topics.empty())
        targets.delay_topics.push_back(publish::default_delay_topic(found->topic));
    return targets;
}

int publish_command(const PublishOptions& options) {
    const auto timeout = config::parse_duration(options.timeout);
    if (!timeout || timeout->count() <= 0) {
        std::cerr << "indexer publish: --timeout: expected a duration such as 30s or 2m, got \""
                  << options.timeout << "\"\n";
        return kExitUsage;
    }
    auto config = load_config_or_report(options.config_file, std::cerr);
    if (!config) return kExitConfigInvalid;
    log::setup(config->logging);
    auto targets = publish_targets(*config, options.pipeline, options.delay_topic, options.no_delay);
    if (!targets) {
        std::cerr << "indexer publish: " << targets.error() << '\n';
        return kExitConfigInvalid;
    }

    kafka::ClientOptions client{config->kafka.brokers, config->kafka.client_id, config->kafka.properties};
    const auto delivery_timeout = publish::apply_delivery_timeout(client, *timeout);
    auto producer = kafka::Producer::create(client);
    if (!producer) {
        std::cerr << "indexer publish: " << producer.error() << '\n';
        return kExitStartupFailed;
    }
    publish::Announcer announcer(*producer.value(), std::move(targets.value()));

    // Counting the lines of a large file costs a read of it: only for a terminal, which shows the ETA.
    const bool terminal = ::isatty(STDERR_FILENO) == 1;
    ProgressBar progress("ids", terminal ? known_total(options.ids) : std::nullopt, stderr);
    const std::uint64_t messages_per_id =
        announcer.messages_per_id(publish::Stage::delay) + announcer.messages_per_id(publish::Stage::instant);

    FailureTally failures;
    std::uint64_t ids_read = 0;
    std::uint64_t ids_shown = 0;
    const auto collect = [&](std::chrono::milliseconds wait) {
        for (auto& failure : announcer.collect(wait)) failures.add(std::move(failure));
        const std::uint64_t done = (announcer.acknowledged() + announcer.failed()) / messages_per_id;
        if (done > ids_shown) progress.advance(done - ids_shown);
        ids_shown = std::max(ids_shown, done);
    };
    const auto announce = [&](std::string_view text) {
        text = trim(text);
        if (text.empty()) return;
        ++ids_read;
        // An id that cannot be sent (not UTF-8) is queued anyway: the announcer records why it failed.
        auto id = publish::id_from_text(text);
        const kafka::MessageId message_id =
            id ? std::move(id.value()) : kafka::MessageId{std::string(text), kafka::IdKind::string};
        const std::int64_t created_at = seconds_since_epoch();
        announcer.queue(message_id, publish::Stage::delay, created_at);
        announcer.queue(message_id, publish::Stage::instant, created_at);
        if (ids_read % kCollectEvery == 0) collect(std::chrono::milliseconds(0));
    };
    const auto announce_stdin = [&] {
        std::string line;
        while (std::getline(std::cin, line)) announce(line);
    };

    const auto started = std::chrono::steady_clock::now();
    if (options.ids.empty()) announce_stdin();
    for (const auto& argument : options.ids) {
        if (argument == "-") {
            announce_stdin();
        } else {
            announce(argument);
        }
    }
    collect(delivery_timeout + kReportGrace);
    progress.finish();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;

    const std::uint64_t unacknowledged = announcer.in_flight();
    const std::uint64_t failed_ids = std::min<std::uint64_t>(ids_read, failures.ids() + unacknowledged);
    const std::uint64_t sent = ids_read - failed_ids;
    std::cout << fmt::format("{} sent{}: {} id(s), {}, in {:.1f} s\n", sent,
                             failed_ids > 0 ? fmt::format(", {} failed", failed_ids) : "", ids_read,
                             describe_targets(announcer.targets()), elapsed.count());
    if (failures.messages() == 0 && unacknowledged == 0) return kExitOk;

    std::cerr << fmt::format("indexer publish: {} of {} id(s) not sent ({} message(s) failed):\n", failed_ids,
                             ids_read, failures.messages() + unacknowledged);
    failures.print(std::cerr);
    if (unacknowledged > 0) {
        std::cerr << fmt::format("  {} message(s) neither acknowledged nor failed after {} ms\n",
                                 unacknowledged, (delivery_timeout + kReportGrace).count());
    }
    return kExitFailure;
}

}  // namespace indexer::cli
