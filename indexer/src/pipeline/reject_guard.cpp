#include <indexer/pipeline/reject_guard.hpp>

#include <indexer/pipeline/pipeline.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace indexer::pipeline {
namespace {

// Bounds: distinct ids remembered per reason, reasons remembered, key length.
constexpr std::size_t kMaxDocuments = 10'000;
constexpr std::size_t kMaxStreaks = 64;
constexpr std::size_t kMaxKey = 300;

bool is_word(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

std::string key_of(plugin::OpKind kind, std::string_view message) {
    return (kind == plugin::OpKind::Upsert ? "upsert: " : "delete: ") + normalise_reason(message);
}

std::string_view kind_name(plugin::OpKind kind) {
    return kind == plugin::OpKind::Upsert ? "upsert" : "delete";
}

}  // namespace

std::string normalise_reason(std::string_view message) {
    if (const auto cause = message.find(" (caused by"); cause != std::string_view::npos) {
        message = message.substr(0, cause);
    }
    std::string out;
    out.reserve(std::min(message.size(), kMaxKey));
    for (std::size_t i = 0; i < message.size() && out.size() < kMaxKey; ++i) {
        const char c = message[i];
        // A quote opens after a non-word character (so that "field's" is no quote)
        // and closes before one: the value or id it holds is blanked.
        if ((c == '\'' || c == '"') && (i == 0 || !is_word(message[i - 1]))) {
            std::size_t close = i + 1;
            while (close < message.size() &&
                   !(message[close] == c && (close + 1 == message.size() || !is_word(message[close + 1])))) {
                ++close;
            }
            if (close < message.size()) {
                out += c;
                out += c;
                i = close;
                continue;
            }
        }
        if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
            out += '#';
            while (i + 1 < message.size() && std::isdigit(static_cast<unsigned char>(message[i + 1])) != 0)
                ++i;
            continue;
        }
        out += c;
    }
    return out;
}

RejectGuard::RejectGuard(std::string pipeline, std::size_t threshold, PipelineStats& stats)
    : pipeline_(std::move(pipeline)), threshold_(threshold), stats_(stats) {}

void RejectGuard::review(std::span<const plugin::SinkOp> ops, std::span<plugin::SinkResult> results) {
    held_ = 0;
    if (threshold_ == 0) return;
    const std::size_t n = std::min(ops.size(), results.size());

    // Holds first: a held document written OK ends its hold (the index was
    // fixed); a write without any of its held documents ends it too.
    for (auto it = streaks_.begin(); it != streaks_.end();) {
        Streak& streak = it->second;
        if (!streak.holding) {
            ++it;
            continue;
        }
        bool present = false;
        bool written = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (ops[i].kind != streak.kind || !streak.held.contains(std::string(ops[i].id))) continue;
            present = true;
            if (results[i].status == plugin::OpStatus::Ok) written = true;
        }
        const auto current = it++;
        if (written) {
            end_hold(current, "a document it held was written: the index accepts them again");
        } else if (!present) {
            end_hold(current, "the documents it held were settled or dropped");
        }
    }

    std::array<std::uint64_t, 2> accepted{};
    std::map<std::string, std::vector<std::size_t>> rejected;  // by key: positions in this write
    for (std::size_t i = 0; i < n; ++i) {
        const bool upsert = ops[i].kind == plugin::OpKind::Upsert;
        if (results[i].status == plugin::OpStatus::Ok) ++accepted[upsert ? 0 : 1];
        if (results[i].status == plugin::OpStatus::Reject)
            rejected[key_of(ops[i].kind, results[i].message)].push_back(i);
    }
    for (const auto& [key, positions] : rejected) {
        auto [it, created] = streaks_.try_emplace(key);
        Streak& streak = it->second;
        if (created) {
            evict_if_full();
            streak.kind = ops[positions.front()].kind;
        }
        streak.example = results[positions.front()].message;
        for (std::size_t i : positions) {
            const std::string id(ops[i].id);
            if (streak.documents.contains(id)) continue;
            ++streak.refused;
            if (streak.documents.size() < kMaxDocuments) streak.documents.insert(id);
        }
    }

    std::size_t held_now = 0;
    for (auto it = streaks_.begin(); it != streaks_.end();) {
        Streak& streak = it->second;
        streak.accepted += accepted[streak.kind == plugin::OpKind::Upsert ? 0 : 1];
        if (!streak.holding && streak.refused >= threshold_ && streak.refused > streak.accepted) {
            streak.holding = true;
            spdlog::warn(
                "{}: paused: {} documents rejected for the same reason ({}s; {} written OK meanwhile): {} -- "
                "held instead of dead-lettered until the sink accepts one of them (fix the index or its "
                "mapping); pipelines[].pause_after_same_rejects sets how many",
                pipeline_, streak.refused, kind_name(streak.kind), streak.accepted, streak.example);
        }
        if (!streak.holding && streak.accepted >= streak.refused) {
            it = streaks_.erase(it);  // outnumbered by good writes: about documents, not the index
            continue;
        }
        if (streak.holding) {
            const auto positions = rejected.find(it->first);
            if (positions != rejected.end()) {
                for (std::size_t i : positions->second) {
                    streak.held.insert(std::string(ops[i].id));
                    results[i].status = plugin::OpStatus::Retry;
                    results[i].message =
                        fmt::format("held, not dead-lettered: {} documents rejected for the same reason: {}",
                                    streak.refused, results[i].message);
                    ++held_now;
                }
            }
        }
        ++it;
    }
    held_ = held_now;
    stats_.held_rejects = held_now;
}

void RejectGuard::end_hold(std::map<std::string, Streak>::iterator streak, std::string_view why) {
    spdlog::info("{}: resumed: no longer holding {}s rejected for \"{}\" ({})", pipeline_,
                 kind_name(streak->second.kind), streak->second.example, why);
    streaks_.erase(streak);
}

// Many reasons at once and no OK write: the reason that refused the fewest documents is forgotten.
void RejectGuard::evict_if_full() {
    if (streaks_.size() <= kMaxStreaks) return;
    auto smallest = streaks_.end();
    for (auto it = streaks_.begin(); it != streaks_.end(); ++it) {
        if (it->second.holding || it->second.refused == 0) continue;  // 0: the one just created
        if (smallest == streaks_.end() || it->second.refused < smallest->second.refused) smallest = it;
    }
    if (smallest != streaks_.end()) streaks_.erase(smallest);
}

}  // namespace indexer::pipeline
