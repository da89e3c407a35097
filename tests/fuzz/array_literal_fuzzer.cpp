// make_array_literal on any ids (NUL bytes, quotes, backslashes, braces,
// invalid UTF-8): the literal, read back the way PostgreSQL reads a quoted
// array literal, gives exactly the ids again.
#include <indexer/postgres/array_literal.hpp>

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace {

// The reader of the literal's form (all elements double-quoted, backslash
// escapes); nullopt when the text is not of that form.
std::optional<std::vector<std::string>> read_array_literal(std::string_view text) {
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') return std::nullopt;
    std::vector<std::string> elements;
    std::size_t i = 1;
    if (text.size() == 2) return elements;
    for (;;) {
        if (i >= text.size() || text[i] != '"') return std::nullopt;
        ++i;
        std::string element;
        for (;;) {
            if (i >= text.size()) return std::nullopt;
            const char c = text[i++];
            if (c == '"') break;
            if (c == '\\') {
                if (i >= text.size()) return std::nullopt;
                element.push_back(text[i++]);
            } else {
                element.push_back(c);
            }
        }
        elements.push_back(std::move(element));
        if (i >= text.size()) return std::nullopt;
        if (text[i] == '}') return i + 1 == text.size() ? std::optional(elements) : std::nullopt;
        if (text[i] != ',') return std::nullopt;
        ++i;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    std::vector<std::string> ids;
    while (input.remaining_bytes() > 0) ids.push_back(input.ConsumeRandomLengthString(64));

    const std::string literal = indexer::postgres::make_array_literal(std::span<const std::string>(ids));
    const std::optional<std::vector<std::string>> read = read_array_literal(literal);
    FUZZ_CHECK(read.has_value());
    FUZZ_CHECK(*read == ids);

    const std::vector<std::string_view> views(ids.begin(), ids.end());
    FUZZ_CHECK(indexer::postgres::make_array_literal(std::span<const std::string_view>(views)) == literal);
    return 0;
}
