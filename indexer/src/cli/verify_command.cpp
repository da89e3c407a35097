#include <indexer/cli/exit_codes.hpp>
#include <indexer/cli/load_config.hpp>
#include <indexer/cli/verify_command.hpp>
#include <indexer/config/redaction.hpp>
#include <indexer/log/logging.hpp>
#include <indexer/pipeline/pipeline.hpp>
#include <indexer/plugin/plugin_loader.hpp>
#include <indexer/plugin/plugin_search_path.hpp>
#include <indexer/plugin/sink_handle.hpp>
#include <indexer/postgres/batch_loader.hpp>
#include <indexer/postgres/id_type.hpp>
#include <indexer/postgres/source_scan.hpp>
#include <indexer/util/backoff.hpp>
#include <indexer/util/progress.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace indexer::cli {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Ids per page of each pass.
constexpr std::size_t kPageSize = 1000;
// An apparent difference is checked again no sooner than this after it was seen.
constexpr auto kRecheckDelay = 1s;
// How long one read, list or write call may take.
constexpr auto kCallTimeout = 60s;
// Attempts of a call that answers RETRY (or a retryable load error) before verify gives up.
constexpr int kAttempts = 6;
// Examples kept per kind of finding.
constexpr std::size_t kExamples = 5;
// Without a terminal, a progress line this often.
constexpr auto kLogEvery = 5s;

enum class Kind { missing, stale, extra, invalid, unreadable };
constexpr std::size_t kKinds = 5;

std::string_view name_of(Kind kind) {
    switch (kind) {
        case Kind::missing:
            return "missing";
        case Kind::stale:
            return "stale";
        case Kind::extra:
            return "extra";
        case Kind::invalid:
            return "invalid";
        case Kind::unreadable:
            return "unreadable";
    }
    return "?";
}

// What one examination found about one id that differs (or cannot be checked).
struct Finding {
    std::string id;
    Kind kind = Kind::missing;
    std::string reason;
    // For a repair: the row to upsert (missing, stale) or the delete's version (extra).
    std::string document;
    std::uint64_t version = 0;
};

struct Tally {
    std::uint64_t count = 0;
    std::vector<std::pair<std::string, std::string>> examples;  // id, why

    void add(const std::string& id, const std::string& why) {
        ++count;
        if (examples.size() < kExamples) examples.emplace_back(id, why);
    }
};

std::string dump(const nlohmann::json& json) {
    return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Why two documents differ, or nothing when they are equal as JSON values.
std::optional<std::string> document_difference(const std::string& stored, const std::string& row) {
    if (stored.empty()) return std::nullopt;  // the sink keeps no document: nothing to compare
    const nlohmann::json stored_json = nlohmann::json::parse(stored, nullptr, false);
    if (stored_json.is_discarded()) return "the stored document is not JSON";
    const nlohmann::json row_json = nlohmann::json::parse(row, nullptr, false);
    if (row_json.is_discarded()) return "the row's document is not JSON";
    if (stored_json == row_json) return std::nullopt;
    if (stored_json.is_object() && row_json.is_object()) {
        std::set<std::string> keys;
        for (const auto& item : stored_json.items()) keys.insert(item.key());
        for (const auto& item : row_json.items()) keys.insert(item.key());
        for (const std::string& key : keys) {
            const bool in_stored = stored_json.contains(key);
            const bool in_row = row_json.contains(key);
            if (in_stored && !in_row) return fmt::format("field \"{}\" is in the sink, not in the row", key);
            if (!in_stored && in_row) return fmt::format("field \"{}\" is in the row, not in the sink", key);
            if (stored_json.at(key) != row_json.at(key)) {
                std::string stored_value = dump(stored_json.at(key));
                std::string row_value = dump(row_json.at(key));
                if (stored_value.size() > 40) stored_value = stored_value.substr(0, 37) + "...";
                if (row_value.size() > 40) row_value = row_value.substr(0, 37) + "...";
                return fmt::format("field \"{}\" is {} in the sink, {} in the row", key, stored_value,
                                   row_value);
            }
        }
    }
    return "the document differs from the row";
}

class VerifyRun {
public:
    VerifyRun(const VerifyOptions& options, std::ostream& out, std::ostream& errors)
        : options_(options), out_(out), errors_(errors) {}

    int run() {
        auto config = load_config_or_report(options_.config_file, errors_);
        if (!config) return kExitConfigInvalid;
        log::setup(config->logging);
        auto pipeline = find_pipeline(*config, options_.pipeline);
        if (!pipeline) return fail(kExitConfigInvalid, pipeline.error());
        const config::PipelineConfig& pipe = *pipeline.value();
        if (!pipe.source.table) {
            return fail(
                kExitConfigInvalid,
                fmt::format("pipeline {} reads a custom query (pipelines[].source.query): verify needs "
                            "a table source, because a query cannot list its ids",
                            pipe.name));
        }

        std::vector<std::string> dirs;
        for (const auto& dir : config->plugins.paths) dirs.push_back(dir.string());
        dirs.insert(dirs.end(), options_.plugin_dirs.begin(), options_.plugin_dirs.end());
        const plugin::PluginLoader plugins(plugin::plugin_search_path(dirs));
        auto plugin = plugins.load(pipe.sink.plugin);
        if (!plugin) return fail(kExitStartupFailed, "sink plugin: " + plugin.error());
        auto sink = plugin.value()->open(pipe.name, pipe.sink.config.dump());
        if (!sink) return fail(kExitStartupFailed, "sink " + pipe.sink.plugin + ": " + sink.error());
        if (!sink->has_read() || !sink->has_list()) {
            return fail(kExitStartupFailed,
                        fmt::format("the sink plugin {} cannot be verified: it has no read or list (sink ABI "
                                    "1.2)",
                                    pipe.sink.plugin));
        }
        sink_.emplace(std::move(sink.value()));

        const postgres::BatchLoaderOptions loader_options = pipeline::loader_options(*config, pipe);
        auto loader = postgres::BatchLoader::create(loader_options);
        if (!loader) return fail(kExitStartupFailed, loader.error());
        loader_.emplace(std::move(loader.value()));
        auto scan = postgres::SourceScan::create(loader_options, loader_->id_type());
        if (!scan) return fail(kExitStartupFailed, scan.error());

        pipeline_name_ = pipe.name;
        started_ = Clock::now();
        Status status = source_pass(scan.value());
        if (status) status = sink_pass();
        elapsed_ = Clock::now() - started_;
        report(status);
        if (!status) return fail(kExitFailure, status.message());
        const std::uint64_t drift = drifted();
        if (drift == 0) return kExitOk;
        if (options_.repair && repaired_ == drift) return kExitOk;
        return kExitDrift;
    }

private:
    int fail(int code, const std::string& message) {
        errors_ << "indexer verify: " << config::redact(message) << '\n';
        return code;
    }

    std::uint64_t drifted() const {
        return tallies_[static_cast<std::size_t>(Kind::missing)].count +
               tallies_[static_cast<std::size_t>(Kind::stale)].count +
               tallies_[static_cast<std::size_t>(Kind::extra)].count;
    }

    static plugin::WriteControl control() { return {Clock::now() + kCallTimeout, nullptr}; }

    // Loads `ids`, trying a retryable failure again.
    Result<postgres::LoadedBatch> load(std::span<const std::string> ids) {
        Backoff backoff(500ms, 10s);
        for (int attempt = 1;; ++attempt) {
            auto loaded = loader_->load(ids);
            if (loaded || !loaded.status().is_retryable() || attempt == kAttempts) return loaded;
            spdlog::warn("verify: loading {} ids failed, trying again: {}", ids.size(), loaded.error());
            std::this_thread::sleep_for(backoff.next());
        }
    }

    // Reads `ids` from the sink; ids answered RETRY are read again, and an id
    // still RETRY after every attempt fails the call.
    Result<std::vector<plugin::ReadResult>> read(const std::vector<std::string>& ids) {
        std::vector<plugin::ReadResult> results(ids.size());
        std::vector<std::size_t> pending(ids.size());
        for (std::size_t i = 0; i < ids.size(); ++i) pending[i] = i;
        Backoff backoff(500ms, 10s);
        for (int attempt = 1; !pending.empty(); ++attempt) {
            std::vector<std::string_view> views;
            views.reserve(pending.size());
            for (const std::size_t index : pending) views.emplace_back(ids[index]);
            auto read = sink_->read(views, {}, control());
            if (!read) return read.status();
            std::vector<std::size_t> again;
            for (std::size_t i = 0; i < pending.size(); ++i) {
                plugin::ReadResult& result = read.value()[i];
                if (result.status == plugin::ReadStatus::Retry) again.push_back(pending[i]);
                results[pending[i]] = std::move(result);
            }
            if (!again.empty() && attempt == kAttempts) {
                return Status::error(fmt::format("reading {} ids from the sink failed {} times, last: {}",
                                                 again.size(), kAttempts, results[again.front()].message));
            }
            if (!again.empty()) std::this_thread::sleep_for(backoff.next());
            pending = std::move(again);
        }
        return results;
    }

    // Loads `ids` from the source and reads them from the sink: a finding for
    // every id that differs or cannot be checked.
    Result<std::vector<Finding>> examine(const std::vector<std::string>& ids) {
        std::vector<Finding> findings;
        if (ids.empty()) return findings;
        auto loaded = load(ids);
        if (!loaded) return loaded.status();
        auto stored = read(ids);
        if (!stored) return stored.status();

        // What the source says about each requested id.
        struct SourceSide {
            const postgres::FoundRow* row = nullptr;
            std::uint64_t delete_version = 0;
            std::optional<std::string> invalid;
        };
        std::vector<SourceSide> source(ids.size());
        for (const auto& row : loaded.value().rows) {
            for (const std::size_t index : row.request_indexes) source[index].row = &row;
        }
        for (const auto& missing : loaded.value().missing) {
            for (const std::size_t index : missing.request_indexes)
                source[index].delete_version = missing.version;
        }
        for (const auto& invalid : loaded.value().invalid)
            source[invalid.request_index].invalid = invalid.reason;

        const bool versioned = loader_->version_kind() != postgres::VersionKind::none;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const std::string& id = ids[i];
            const plugin::ReadResult& held = stored.value()[i];
            const SourceSide& side = source[i];
            if (held.status == plugin::ReadStatus::Reject) {
                findings.push_back(
                    {id, Kind::unreadable, "the sink cannot read this id: " + held.message, {}, 0});
                continue;
            }
            const bool found = held.status == plugin::ReadStatus::Found;
            if (side.invalid) {
                // An id the column cannot hold has no row; any other invalid id is a row
                // the pipeline cannot load (it dead-letters it): not checked.
                if (postgres::canonical_id(loader_->id_kind(), id)) {
                    findings.push_back(
                        {id, Kind::invalid, "the row cannot be loaded: " + *side.invalid, {}, 0});
                } else if (found) {
                    findings.push_back({id, Kind::extra, "no row can have this id: " + *side.invalid, {}, 0});
                }
                continue;
            }
            if (side.row == nullptr || side.row->id != id) {
                if (!found) continue;  // neither side has it
                findings.push_back(
                    {id,
                     Kind::extra,
                     side.row == nullptr
                         ? "in the sink, not in the source"
                         : fmt::format("in the sink, but the row's key is \"{}\"", side.row->id),
                     {},
                     side.row == nullptr ? side.delete_version : 0});
                continue;
            }
            const postgres::FoundRow& row = *side.row;
            if (!found) {
                findings.push_back(
                    {id, Kind::missing, "in the source, not in the sink", row.document, row.version});
                continue;
            }
            if (versioned && held.version != 0 && held.version != row.version) {
                findings.push_back(
                    {id, Kind::stale,
                     fmt::format("version {} in the sink, {} in the source", held.version, row.version),
                     row.document, row.version});
                continue;
            }
            if (auto why = document_difference(held.document, row.document)) {
                findings.push_back({id, Kind::stale, *why, row.document, row.version});
            }
        }
        return findings;
    }

    // An apparent difference, waiting for its second check.
    void suspect(const std::string& id) {
        if (suspects_.empty()) first_suspect_ = Clock::now();
        if (suspect_set_.insert(id).second) suspects_.push_back(id);
    }

    // Checks the suspects again (no sooner than kRecheckDelay after the first
    // was seen) and records, and with --repair repairs, what is confirmed.
    Status settle_suspects() {
        if (suspects_.empty()) return Status::ok();
        const auto due = first_suspect_ + kRecheckDelay;
        if (Clock::now() < due) std::this_thread::sleep_until(due);
        const std::vector<std::string> ids = std::move(suspects_);
        suspects_.clear();
        suspect_set_.clear();
        auto findings = examine(ids);
        if (!findings) return findings.status();
        std::vector<Finding> to_repair;
        for (Finding& finding : findings.value()) {
            tallies_[static_cast<std::size_t>(finding.kind)].add(finding.id, finding.reason);
            if (options_.repair && (finding.kind == Kind::missing || finding.kind == Kind::stale ||
                                    finding.kind == Kind::extra)) {
                to_repair.push_back(std::move(finding));
            }
        }
        return repair(to_repair);
    }

    // Writes the fixes, then reads them back: an id counts as repaired when it agrees now.
    Status repair(const std::vector<Finding>& findings) {
        if (findings.empty()) return Status::ok();
        std::vector<plugin::SinkOp> ops;
        ops.reserve(findings.size());
        for (const Finding& finding : findings) {
            plugin::SinkOp op;
            op.id = finding.id;
            op.version = finding.version;
            if (finding.kind == Kind::extra) {
                op.kind = plugin::OpKind::Delete;
            } else {
                op.kind = plugin::OpKind::Upsert;
                op.document = finding.document;
            }
            ops.push_back(op);
        }
        std::vector<std::size_t> pending(ops.size());
        for (std::size_t i = 0; i < ops.size(); ++i) pending[i] = i;
        Backoff backoff(500ms, 10s);
        for (int attempt = 1; !pending.empty() && attempt <= kAttempts; ++attempt) {
            if (attempt > 1) std::this_thread::sleep_for(backoff.next());
            std::vector<plugin::SinkOp> batch;
            batch.reserve(pending.size());
            for (const std::size_t index : pending) batch.push_back(ops[index]);
            const auto results = sink_->write(batch, control());
            std::vector<std::size_t> again;
            for (std::size_t i = 0; i < results.size(); ++i) {
                if (results[i].status == plugin::OpStatus::Retry) again.push_back(pending[i]);
                if (results[i].status == plugin::OpStatus::Reject && repair_failures_.size() < kExamples) {
                    repair_failures_.emplace_back(findings[pending[i]].id,
                                                  "the sink rejected the write: " + results[i].message);
                }
            }
            if (again.empty()) {
                const Status flushed = sink_->flush();
                if (!flushed) again = pending;
            }
            pending = std::move(again);
        }
        std::vector<std::string> ids;
        ids.reserve(findings.size());
        for (const Finding& finding : findings) ids.push_back(finding.id);
        auto after = examine(ids);
        if (!after) return after.status();
        std::set<std::string> still;
        for (const Finding& finding : after.value()) {
            still.insert(finding.id);
            if (repair_failures_.size() < kExamples) {
                repair_failures_.emplace_back(finding.id, "still " + std::string(name_of(finding.kind)) +
                                                              " after the repair: " + finding.reason);
            }
        }
        repaired_ += ids.size() - still.size();
        return Status::ok();
    }

    void progress(std::uint64_t rows) {
        if (progress_bar_) {
            progress_bar_->advance(rows);
            return;
        }
        const auto now = Clock::now();
        if (now < next_log_) return;
        next_log_ = now + kLogEvery;
        const std::chrono::duration<double> elapsed = now - pass_started_;
        spdlog::info("verify {}: {}", pipeline_name_,
                     format_progress(pass_done_, std::nullopt, pass_unit_, elapsed));
    }

    void begin_pass(const std::string& unit) {
        pass_unit_ = unit;
        pass_done_ = 0;
        pass_started_ = Clock::now();
        next_log_ = pass_started_ + kLogEvery;
        if (isatty(STDERR_FILENO) != 0) progress_bar_.emplace(unit, std::nullopt, stderr);
    }

    void end_pass() {
        if (progress_bar_) progress_bar_->finish();
        progress_bar_.reset();
    }

    Status source_pass(postgres::SourceScan& scan) {
        begin_pass("rows");
        while (true) {
            Result<std::vector<std::string>> page = Status::error("not read");
            Backoff backoff(500ms, 10s);
            for (int attempt = 1;; ++attempt) {
                page = scan.next(kPageSize);
                if (page || !page.status().is_retryable() || attempt == kAttempts) break;
                std::this_thread::sleep_for(backoff.next());
            }
            if (!page) return page.status();
            if (page.value().empty()) break;
            auto findings = examine(page.value());
            if (!findings) return findings.status();
            for (const Finding& finding : findings.value()) suspect(finding.id);
            rows_checked_ += page.value().size();
            pass_done_ += page.value().size();
            progress(page.value().size());
            if (suspects_.size() >= kPageSize) INDEXER_RETURN_IF_ERROR(settle_suspects());
        }
        INDEXER_RETURN_IF_ERROR(settle_suspects());
        end_pass();
        return Status::ok();
    }

    Status sink_pass() {
        begin_pass("ids listed");
        std::string cursor;
        int restarts = 0;
        Backoff backoff(500ms, 10s);
        int retries = 0;
        while (true) {
            auto page = sink_->list(cursor, kPageSize, {}, control());
            if (!page) return page.status();
            if (page.value().status == plugin::OpStatus::Retry) {
                if (++retries >= kAttempts) {
                    return Status::error("listing the sink failed " + std::to_string(kAttempts) +
                                         " times, last: " + page.value().message);
                }
                std::this_thread::sleep_for(backoff.next());
                continue;
            }
            retries = 0;
            backoff.reset();
            if (page.value().status == plugin::OpStatus::Reject) {
                // The listing cannot go on: start it again (ids seen twice are checked twice, harmlessly).
                if (++restarts >= kAttempts) {
                    return Status::error("the sink's listing broke off " + std::to_string(kAttempts) +
                                         " times, last: " + page.value().message);
                }
                spdlog::warn("verify {}: the sink's listing broke off, listing again from the start: {}",
                             pipeline_name_, page.value().message);
                cursor.clear();
                unlisted_ = 0;
                ids_listed_ = 0;
                continue;
            }
            unlisted_ += page.value().unlisted;
            const std::vector<std::string>& ids = page.value().ids;
            ids_listed_ += ids.size();
            pass_done_ += ids.size();
            if (!ids.empty()) {
                auto loaded = load(ids);
                if (!loaded) return loaded.status();
                std::vector<bool> has_row(ids.size(), false);
                for (const auto& row : loaded.value().rows) {
                    for (const std::size_t index : row.request_indexes) has_row[index] = row.id == ids[index];
                }
                for (const auto& invalid : loaded.value().invalid) {
                    // Rows the pipeline cannot load are counted by the source pass.
                    if (postgres::canonical_id(loader_->id_kind(), ids[invalid.request_index]))
                        has_row[invalid.request_index] = true;
                }
                for (std::size_t i = 0; i < ids.size(); ++i) {
                    if (!has_row[i]) suspect(ids[i]);
                }
                progress(ids.size());
                if (suspects_.size() >= kPageSize) INDEXER_RETURN_IF_ERROR(settle_suspects());
            }
            if (page.value().is_last()) break;
            cursor = page.value().next_cursor;
        }
        INDEXER_RETURN_IF_ERROR(settle_suspects());
        end_pass();
        return Status::ok();
    }

    void report(const Status& status) {
        const double seconds = std::chrono::duration<double>(elapsed_).count();
        const double rate = seconds > 0 ? static_cast<double>(rows_checked_) / seconds : 0.0;
        const std::uint64_t drift = drifted();
        if (options_.json) {
            nlohmann::json json{{"pipeline", pipeline_name_},    {"complete", status.is_ok()},
                                {"rows_checked", rows_checked_}, {"ids_listed", ids_listed_},
                                {"unlisted", unlisted_},         {"drifted", drift},
                                {"elapsed_seconds", seconds},    {"rows_per_second", rate}};
            for (std::size_t k = 0; k < kKinds; ++k) {
                nlohmann::json examples = nlohmann::json::array();
                for (const auto& [id, why] : tallies_[k].examples)
                    examples.push_back({{"id", id}, {"reason", why}});
                json[std::string(name_of(static_cast<Kind>(k)))] = {{"count", tallies_[k].count},
                                                                    {"examples", examples}};
            }
            if (options_.repair) {
                nlohmann::json failures = nlohmann::json::array();
                for (const auto& [id, why] : repair_failures_)
                    failures.push_back({{"id", id}, {"reason", why}});
                json["repaired"] = repaired_;
                json["not_repaired"] = drift - repaired_;
                json["repair_failures"] = failures;
            }
            if (!status) json["error"] = config::redact(status.message());
            out_ << dump(json) << '\n';
            return;
        }
        out_ << fmt::format(
            "verify {}: {} rows checked, {} ids listed in the sink, in {:.1f} s ({:.0f} rows/s){}\n",
            pipeline_name_, group_thousands(rows_checked_), group_thousands(ids_listed_), seconds, rate,
            status ? "" : " -- INCOMPLETE");
        for (std::size_t k = 0; k < kKinds; ++k) {
            const Tally& tally = tallies_[k];
            out_ << fmt::format("{:<11} {}\n", std::string(name_of(static_cast<Kind>(k))) + ":", tally.count);
            for (const auto& [id, why] : tally.examples) out_ << fmt::format("  id {}: {}\n", id, why);
        }
        out_ << fmt::format("{:<11} {}{}\n", "unlisted:", unlisted_,
                            unlisted_ > 0 ? " (sink entries without a readable id: not checked)" : "");
        if (options_.repair) {
            out_ << fmt::format("repaired:   {} of {}\n", repaired_, drift);
            for (const auto& [id, why] : repair_failures_) out_ << fmt::format("  id {}: {}\n", id, why);
        }
        if (!status) return;
        if (drift == 0) {
            out_ << "in sync\n";
        } else if (options_.repair) {
            out_ << (repaired_ == drift ? "drift repaired\n"
                                        : "drift found; not all of it could be repaired\n");
        } else {
            out_ << fmt::format("drift found: {} ids differ (indexer verify --repair writes the fixes)\n",
                                drift);
        }
    }

    const VerifyOptions& options_;
    std::ostream& out_;
    std::ostream& errors_;
    std::string pipeline_name_;
    std::optional<plugin::SinkHandle> sink_;
    std::optional<postgres::BatchLoader> loader_;

    // In the order they were seen (the examples follow it), without repeats.
    std::vector<std::string> suspects_;
    std::set<std::string> suspect_set_;
    Clock::time_point first_suspect_;

    std::array<Tally, kKinds> tallies_{};
    std::vector<std::pair<std::string, std::string>> repair_failures_;
    std::uint64_t repaired_ = 0;
    std::uint64_t rows_checked_ = 0;
    std::uint64_t ids_listed_ = 0;
    std::uint64_t unlisted_ = 0;
    Clock::time_point started_;
    Clock::duration elapsed_{};

    std::optional<ProgressBar> progress_bar_;
    std::string pass_unit_;
    std::uint64_t pass_done_ = 0;
    Clock::time_point pass_started_;
    Clock::time_point next_log_;
};

}  // namespace

int verify_command(const VerifyOptions& options, std::ostream& out, std::ostream& errors) {
    return VerifyRun(options, out, errors).run();
}

}  // namespace indexer::cli
