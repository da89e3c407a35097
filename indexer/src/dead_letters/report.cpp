#include <indexer/dead_letters/reason_pattern.hpp>
#include <indexer/dead_letters/report.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace indexer::dead_letters {
namespace {

// The length of the UTF-8 character starting at `text[i]`, or 0 when it is not valid.
std::size_t utf8_length(std::string_view text, std::size_t i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    if (byte < 0x80) return 1;
    if ((byte & 0xE0) == 0xC0 && byte >= 0xC2) {
        length = 2;
    } else if ((byte & 0xF0) == 0xE0) {
        length = 3;
    } else if ((byte & 0xF8) == 0xF0 && byte <= 0xF4) {
        length = 4;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    for (std::size_t k = 1; k < length; ++k) {
        if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
    }
    return length;
}

std::string source_of(const Letter& letter) {
    if (letter.source_topic.empty()) return "unknown";
    return fmt::format("{}[{}]@{}", letter.source_topic,
                       letter.source_partition ? std::to_string(*letter.source_partition) : "?",
                       letter.source_offset ? std::to_string(*letter.source_offset) : "?");
}

std::string counts_text(const LetterCounts& counts) {
    std::string text = fmt::format("{} letter(s): {} to replay, {} replayed", counts.letters,
                                   counts.to_replay, counts.replayed);
    if (counts.cannot_replay > 0)
        text += fmt::format(", {} cannot be replayed (truncated)", counts.cannot_replay);
    return text;
}

nlohmann::json counts_json(const LetterCounts& counts) {
    return {{"letters", counts.letters},
            {"to_replay", counts.to_replay},
            {"replayed", counts.replayed},
            {"cannot_replay", counts.cannot_replay}};
}

nlohmann::json optional_text(const std::optional<std::string>& bytes) {
    if (!bytes) return nullptr;
    return printable_excerpt(bytes);
}

}  // namespace

void LetterCounts::add(LetterState state) {
    ++letters;
    switch (state) {
        case LetterState::to_replay:
            ++to_replay;
            break;
        case LetterState::replayed:
            ++replayed;
            break;
        case LetterState::cannot_replay:
            ++cannot_replay;
            break;
    }
}

std::string printable_excerpt(const std::optional<std::string>& bytes, std::size_t limit) {
    if (!bytes) return "(null)";
    const std::string_view text = *bytes;
    std::string shown;
    std::size_t i = 0;
    while (i < text.size() && i < limit) {
        const std::size_t length = utf8_length(text, i);
        const auto byte = static_cast<unsigned char>(text[i]);
        if (length == 0 || byte < 0x20 || byte == 0x7F) {
            shown += fmt::format("\\x{:02x}", byte);
            ++i;
            continue;
        }
        shown.append(text.substr(i, length));
        i += length;
    }
    if (i < text.size()) shown += fmt::format("... ({} bytes)", text.size());
    return shown;
}

Report::Report(std::string pipeline, std::string topic)
    : pipeline_(std::move(pipeline)), topic_(std::move(topic)) {}

void Report::add(const Letter& letter, LetterState state) {
    if (letter.pipeline != pipeline_) {
        ++other_pipelines_[letter.pipeline.empty() ? "(none)" : letter.pipeline];
        return;
    }
    total_.add(state);
    const std::string stage = letter.stage.empty() ? "(none)" : letter.stage;
    std::string pattern = reason_pattern(letter.reason);
    auto [found, added] = groups_.try_emplace({stage, pattern});
    ReasonGroup& group = found->second;
    if (added) {
        group.stage = stage;
        group.pattern = std::move(pattern);
    }
    group.counts.add(state);
    if (group.examples.size() < examples_per_group) group.examples.push_back(letter);
}

std::vector<ReasonGroup> Report::groups() const {
    std::vector<ReasonGroup> sorted;
    sorted.reserve(groups_.size());
    for (const auto& [key, group] : groups_) sorted.push_back(group);
    std::stable_sort(sorted.begin(), sorted.end(), [](const ReasonGroup& a, const ReasonGroup& b) {
        return a.counts.letters > b.counts.letters;
    });
    return sorted;
}

std::string Report::to_text() const {
    std::string text = fmt::format("Dead letters of pipeline {} in {}\n", pipeline_, topic_);
    for (const ReasonGroup& group : groups()) {
        text += fmt::format("\n[{}] {}\n  {}\n", group.stage, group.pattern, counts_text(group.counts));
        for (const Letter& example : group.examples) {
            text += fmt::format(
                "  e.g. key {} value {}\n       from {}, letter {}[{}]@{}\n       reason: {}\n",
                printable_excerpt(example.key), printable_excerpt(example.value), source_of(example), topic_,
                example.partition, example.offset, printable_excerpt(example.reason, 400));
        }
    }
    if (total_.letters == 0) text += "\nNo dead letters.\n";
    text += fmt::format("\nTotal: {}\n", counts_text(total_));
    if (!other_pipelines_.empty()) {
        std::string others;
        for (const auto& [name, letters] : other_pipelines_)
            others += fmt::format("{}{} ({})", others.empty() ? "" : ", ", name, letters);
        text += fmt::format("Not counted: letters of other pipelines or delayers in the topic: {}\n", others);
    }
    return text;
}

nlohmann::json Report::to_json() const {
    nlohmann::json groups = nlohmann::json::array();
    for (const ReasonGroup& group : this->groups()) {
        nlohmann::json examples = nlohmann::json::array();
        for (const Letter& example : group.examples) {
            examples.push_back({
                {"key", optional_text(example.key)},
                {"value", optional_text(example.value)},
                {"reason", printable_excerpt(example.reason, 1024)},
                {"source",
                 {{"topic", example.source_topic},
                  {"partition",
                   example.source_partition ? nlohmann::json(*example.source_partition) : nullptr},
                  {"offset", example.source_offset ? nlohmann::json(*example.source_offset) : nullptr}}},
                {"letter", {{"partition", example.partition}, {"offset", example.offset}}},
                {"left_out", example.left_out},
            });
        }
        nlohmann::json entry = counts_json(group.counts);
        entry["stage"] = group.stage;
        entry["reason"] = group.pattern;
        entry["examples"] = std::move(examples);
        groups.push_back(std::move(entry));
    }
    nlohmann::json others = nlohmann::json::object();
    for (const auto& [name, letters] : other_pipelines_) others[name] = letters;
    return {{"pipeline", pipeline_},
            {"topic", topic_},
            {"groups", std::move(groups)},
            {"total", counts_json(total_)},
            {"other_pipelines", std::move(others)}};
}

}  // namespace indexer::dead_letters
