// The listing of `indexer dead-letters`: a pipeline's dead letters counted by
// stage and reason pattern (reason_pattern.hpp), with a few examples each and
// how many of them were replayed already or cannot be replayed.
#pragma once

#include <indexer/dead_letters/letter.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace indexer::dead_letters {

inline constexpr std::size_t examples_per_group = 2;
// Bytes of a key or value shown in an example.
inline constexpr std::size_t example_bytes = 120;

// A letter's state in the listing.
enum class LetterState { to_replay, replayed, cannot_replay };

struct LetterCounts {
    std::uint64_t letters = 0;
    std::uint64_t to_replay = 0;
    std::uint64_t replayed = 0;
    std::uint64_t cannot_replay = 0;

    void add(LetterState state);
};

struct ReasonGroup {
    std::string stage;
    std::string pattern;
    LetterCounts counts;
    std::vector<Letter> examples;  // the first ones read
};

class Report {
public:
    Report(std::string pipeline, std::string topic);

    // A letter of another pipeline (its indexer.pipeline header differs, or it
    // has none) is only counted, by that name.
    void add(const Letter& letter, LetterState state);

    // Largest groups first; equal counts by stage and pattern.
    std::vector<ReasonGroup> groups() const;
    const LetterCounts& total() const { return total_; }
    const std::map<std::string, std::uint64_t>& other_pipelines() const { return other_pipelines_; }

    // For people: one block per group, then the total.
    std::string to_text() const;
    // For scripts: {"pipeline", "topic", "groups": [{"stage", "reason",
    // "letters", "to_replay", "replayed", "cannot_replay", "examples": [...]}],
    // "total": {...}, "other_pipelines": {name: letters}}.
    nlohmann::json to_json() const;

private:
    std::string pipeline_;
    std::string topic_;
    std::map<std::pair<std::string, std::string>, ReasonGroup> groups_;  // by stage and pattern
    LetterCounts total_;
    std::map<std::string, std::uint64_t> other_pipelines_;
};

// A key or value as an example shows it: at most example_bytes, control
// characters and invalid UTF-8 escaped, "(null)" for an absent one.
std::string printable_excerpt(const std::optional<std::string>& bytes, std::size_t limit = example_bytes);

}  // namespace indexer::dead_letters
