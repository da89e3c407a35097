#include <indexer/postgres/array_literal.hpp>

namespace indexer::postgres {
namespace {

template <class Element>
std::string build(std::span<const Element> elements) {
    std::size_t size = 2;
    for (const auto& element : elements) {
        size += element.size() + 3;
    }
    std::string literal;
    literal.reserve(size);
    literal += '{';
    bool first = true;
    for (const auto& element : elements) {
        if (!first) {
            literal += ',';
        }
        first = false;
        literal += '"';
        for (const char c : element) {
            if (c == '"' || c == '\\') {
                literal += '\\';
            }
            literal += c;
        }
        literal += '"';
    }
    literal += '}';
    return literal;
}

}  // namespace

std::string make_array_literal(std::span<const std::string> elements) {
    return build(elements);
}

std::string make_array_literal(std::span<const std::string_view> elements) {
    return build(elements);
}

}  // namespace indexer::postgres
