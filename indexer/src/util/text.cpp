#include <indexer/util/text.hpp>

namespace indexer {

std::string excerpt(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return std::string(text);
    std::size_t cut = limit;
    // Back up to the first byte of a UTF-8 character (never into a continuation byte).
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
    return std::string(text.substr(0, cut)) + "... (truncated from " + std::to_string(text.size()) +
           " bytes)";
}

}  // namespace indexer
