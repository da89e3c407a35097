#include <indexer/dead_letters/reason_pattern.hpp>

namespace indexer::dead_letters {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_word(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The end of the quoted text opening at `open` (the index after its closing
// quote, or the end of `reason` when it is not closed). A single quote closes
// only before a non-word character, so that "don't" inside it does not.
std::size_t quote_end(std::string_view reason, std::size_t open) {
    const char quote = reason[open];
    for (std::size_t i = open + 1; i < reason.size(); ++i) {
        if (reason[i] == '\\') {
            ++i;
            continue;
        }
        if (reason[i] != quote) continue;
        if (quote == '"' || i + 1 == reason.size() || !is_word(reason[i + 1])) return i + 1;
    }
    return reason.size();
}

// The end of the number starting at `start`: digits, a fraction, an exponent.
std::size_t number_end(std::string_view reason, std::size_t start) {
    std::size_t i = start;
    if (reason[i] == '-' || reason[i] == '+') ++i;
    while (i < reason.size() && is_digit(reason[i])) ++i;
    if (i + 1 < reason.size() && reason[i] == '.' && is_digit(reason[i + 1])) {
        ++i;
        while (i < reason.size() && is_digit(reason[i])) ++i;
    }
    if (i + 1 < reason.size() && (reason[i] == 'e' || reason[i] == 'E')) {
        std::size_t exponent = i + 1;
        if (exponent < reason.size() && (reason[exponent] == '-' || reason[exponent] == '+')) ++exponent;
        if (exponent < reason.size() && is_digit(reason[exponent])) {
            i = exponent;
            while (i < reason.size() && is_digit(reason[i])) ++i;
        }
    }
    return i;
}

}  // namespace

std::string reason_pattern(std::string_view reason) {
    // The engine's sink rejects name the id: "sink x rejected the upsert of id <id>: <sink's reason>".
    constexpr std::string_view of_id = " of id ";
    std::string masked_id;
    if (const auto at = reason.find(of_id); at != std::string_view::npos) {
        const auto colon = reason.find(": ", at + of_id.size());
        if (colon != std::string_view::npos) {
            masked_id =
                std::string(reason.substr(0, at + of_id.size())) + "<id>" + std::string(reason.substr(colon));
            reason = masked_id;
        }
    }

    std::string pattern;
    pattern.reserve(reason.size());
    for (std::size_t i = 0; i < reason.size();) {
        const char c = reason[i];
        const char before = pattern.empty() ? ' ' : pattern.back();
        if (is_space(c)) {
            if (!pattern.empty() && pattern.back() != ' ') pattern += ' ';
            ++i;
            continue;
        }
        if (c == '"' || (c == '\'' && !is_word(before))) {
            pattern += c;
            pattern += "…";
            pattern += c;
            i = quote_end(reason, i);
            continue;
        }
        const bool signed_number =
            (c == '-' || c == '+') && i + 1 < reason.size() && is_digit(reason[i + 1]) && !is_word(before);
        if ((is_digit(c) || signed_number) && !is_word(before)) {
            const std::size_t end = number_end(reason, i);
            const bool glued = end < reason.size() && is_word(reason[end]);
            const bool status = ends_with(pattern, "HTTP ") || ends_with(pattern, "code ");
            if (glued || status) {
                pattern.append(reason.substr(i, end - i));
            } else {
                pattern += '#';
            }
            i = end;
            continue;
        }
        pattern += c;
        ++i;
    }
    while (!pattern.empty() && pattern.back() == ' ') pattern.pop_back();
    if (pattern.size() <= max_pattern_bytes) return pattern;
    std::size_t cut = max_pattern_bytes;
    // Back to the start of a UTF-8 character.
    while (cut > 0 && (static_cast<unsigned char>(pattern[cut]) & 0xC0) == 0x80) --cut;
    pattern.resize(cut);
    return pattern + "...";
}

}  // namespace indexer::dead_letters
