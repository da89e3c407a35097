#include <indexer/dead_letters/letter.hpp>
#include <indexer/kafka/dead_letter.hpp>

#include <array>
#include <charconv>

namespace indexer::dead_letters {
namespace {

namespace header = kafka::dead_letter_header;

constexpr std::array<std::string_view, 9> kIndexerHeaders{
    header::reason,          header::source_topic,  header::source_partition,
    header::source_offset,   header::pipeline,      header::stage,
    header::value_truncated, header::key_truncated, header::headers_truncated,
};

template <class Integer>
std::optional<Integer> parse_integer(const std::optional<std::string>& text) {
    if (!text) return std::nullopt;
    Integer value{};
    const char* end = text->data() + text->size();
    const auto [parsed_to, error] = std::from_chars(text->data(), end, value);
    if (error != std::errc() || parsed_to != end) return std::nullopt;
    return value;
}

}  // namespace

bool is_dead_letter_header(std::string_view key) {
    for (const std::string_view name : kIndexerHeaders) {
        if (key == name) return true;
    }
    return false;
}

Letter read_letter(kafka::Message message) {
    Letter letter;
    letter.partition = message.partition;
    letter.offset = message.offset;
    letter.key = std::move(message.key);
    letter.value = std::move(message.value);
    const auto text = [&message](std::string_view key) -> std::optional<std::string> {
        const kafka::Header* found = kafka::find_header(message.headers, key);
        if (found == nullptr) return std::nullopt;
        return found->value.value_or("");
    };
    letter.pipeline = text(header::pipeline).value_or("");
    letter.stage = text(header::stage).value_or("");
    letter.reason = text(header::reason).value_or("");
    letter.source_topic = text(header::source_topic).value_or("");
    letter.source_partition = parse_integer<std::int32_t>(text(header::source_partition));
    letter.source_offset = parse_integer<std::int64_t>(text(header::source_offset));
    if (text(header::value_truncated)) letter.left_out.emplace_back("value");
    if (text(header::key_truncated)) letter.left_out.emplace_back("key");
    if (text(header::headers_truncated)) letter.left_out.emplace_back("headers");
    for (kafka::Header& original : message.headers) {
        if (!is_dead_letter_header(original.key)) letter.original_headers.push_back(std::move(original));
    }
    return letter;
}

kafka::OutgoingMessage replay_message(const Letter& letter, const std::string& topic) {
    kafka::OutgoingMessage message;
    message.topic = topic;
    message.key = letter.key;
    message.value = letter.value;
    message.headers = letter.original_headers;
    return message;
}

}  // namespace indexer::dead_letters
