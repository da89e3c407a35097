#include "indexer/sinks/elasticsearch/raw_json.hpp"

#include <algorithm>
#include <charconv>

namespace indexer::sinks::elasticsearch {
namespace {

constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

constexpr bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

void RawJsonReader::skip_space() noexcept {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
}

bool RawJsonReader::fail(std::string_view what) {
    if (error_.empty()) error_ = std::string(what) + " at byte " + std::to_string(pos_);
    return false;
}

bool RawJsonReader::enter(char open, char mark) {
    if (failed()) return false;
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != open) {
        return fail(open == '{' ? "expected an object" : "expected an array");
    }
    ++pos_;
    open_.push_back(mark);
    return true;
}

bool RawJsonReader::enter_object() {
    return enter('{', 'o');
}

bool RawJsonReader::enter_array() {
    return enter('[', 'a');
}

bool RawJsonReader::next_item(char mark, char close) {
    if (failed()) return false;
    if (open_.empty() || (open_.back() | 0x20) != mark) {
        return fail(mark == 'o' ? "not inside an object" : "not inside an array");
    }
    skip_space();
    if (pos_ >= text_.size()) return fail("unexpected end of the text");
    if (text_[pos_] == close) {
        ++pos_;
        open_.pop_back();
        return false;
    }
    // Upper case once the container had an item: the next one needs a comma.
    if (open_.back() != mark) {
        if (text_[pos_] != ',') return fail("expected ',' or the end of the container");
        ++pos_;
        skip_space();
    }
    open_.back() = static_cast<char>(mark & ~0x20);
    return true;
}

bool RawJsonReader::next_member(std::string_view& name) {
    if (!next_item('o', '}')) return false;
    if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a member name");
    const std::size_t start = pos_;
    if (!skip_string()) return false;
    name = text_.substr(start + 1, pos_ - start - 2);
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected ':' after a member name");
    ++pos_;
    return true;
}

bool RawJsonReader::next_element() {
    return next_item('a', ']');
}

bool RawJsonReader::skip_string() {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (c == '"') {
            ++pos_;
            return true;
        }
        if (static_cast<unsigned char>(c) < 0x20) return fail("a control character inside a string");
        if (c != '\\') {
            ++pos_;
            continue;
        }
        if (pos_ + 1 >= text_.size()) break;
        const char escaped = text_[pos_ + 1];
        if (escaped == 'u') {
            for (std::size_t k = 2; k < 6; ++k) {
                if (pos_ + k >= text_.size() || !is_hex(text_[pos_ + k]))
                    return fail("a malformed \\u escape");
            }
            pos_ += 6;
            continue;
        }
        if (std::string_view("\"\\/bfnrt").find(escaped) == std::string_view::npos) {
            return fail("an unknown escape in a string");
        }
        pos_ += 2;
    }
    return fail("a string that does not end");
}

bool RawJsonReader::skip_scalar() {
    const std::string_view rest = text_.substr(pos_);
    for (const std::string_view literal : {"true", "false", "null"}) {
        if (rest.substr(0, literal.size()) == literal) {
            pos_ += literal.size();
            return true;
        }
    }
    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
    std::size_t i = pos_;
    const auto digits = [&] {
        const std::size_t start = i;
        while (i < text_.size() && is_digit(text_[i])) ++i;
        return i > start;
    };
    if (i < text_.size() && text_[i] == '-') ++i;
    if (i < text_.size() && text_[i] == '0') {
        ++i;
    } else if (!digits()) {
        return fail("expected a value");
    }
    if (i < text_.size() && text_[i] == '.') {
        ++i;
        if (!digits()) return fail("a number without digits after its point");
    }
    if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {
        ++i;
        if (i < text_.size() && (text_[i] == '+' || text_[i] == '-')) ++i;
        if (!digits()) return fail("a number without digits in its exponent");
    }
    pos_ = i;
    return true;
}

std::string_view RawJsonReader::value() {
    if (failed()) return {};
    skip_space();
    const std::size_t start = pos_;
    // The closers still owed, innermost last, and whether the container on
    // top expects a member name next.
    std::string owed;
    bool expect_name = false;
    bool expect_value = true;
    while (true) {
        skip_space();
        if (pos_ >= text_.size()) {
            fail("unexpected end of the text");
            return {};
        }
        const char c = text_[pos_];
        if (expect_value) {
            if (c == '{' || c == '[') {
                owed.push_back(c == '{' ? '}' : ']');
                deepest_ = std::max(deepest_, owed.size());
                ++pos_;
                skip_space();
                if (pos_ < text_.size() && text_[pos_] == owed.back()) {
                    ++pos_;
                    owed.pop_back();
                    expect_value = false;
                } else {
                    expect_name = owed.back() == '}';
                    expect_value = !expect_name;
                }
            } else if (c == '"') {
                if (!skip_string()) return {};
                expect_value = false;
            } else if (!skip_scalar()) {
                return {};
            } else {
                expect_value = false;
            }
        } else if (expect_name) {
            if (c != '"') {
                fail("expected a member name");
                return {};
            }
            if (!skip_string()) return {};
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != ':') {
                fail("expected ':' after a member name");
                return {};
            }
            ++pos_;
            expect_name = false;
            expect_value = true;
        } else if (owed.empty()) {
            break;
        } else if (c == ',') {
            ++pos_;
            expect_name = owed.back() == '}';
            expect_value = !expect_name;
        } else if (c == owed.back()) {
            ++pos_;
            owed.pop_back();
        } else {
            fail("expected ',' or the end of the container");
            return {};
        }
        if (!expect_value && !expect_name && owed.empty()) break;
    }
    return text_.substr(start, pos_ - start);
}

bool RawJsonReader::at_end() {
    skip_space();
    return !failed() && pos_ == text_.size();
}

std::optional<bool> raw_bool(std::string_view value) noexcept {
    if (value == "true") return true;
    if (value == "false") return false;
    return std::nullopt;
}

std::optional<std::uint64_t> raw_unsigned(std::string_view value) noexcept {
    if (value.empty() || (value.size() > 1 && value[0] == '0')) return std::nullopt;
    std::uint64_t number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error != std::errc{} || end != value.data() + value.size()) return std::nullopt;
    return number;
}

}  // namespace indexer::sinks::elasticsearch
