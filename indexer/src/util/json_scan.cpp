#include <indexer/util/json_scan.hpp>

#include <cstdint>

namespace indexer::json {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Length of the valid UTF-8 sequence starting at `at` (lead byte >= 0x80), 0 if invalid.
std::size_t utf8_sequence(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        code = lead & 0x1FU;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        code = lead & 0x0FU;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        code = lead & 0x07U;
    } else {
        return 0;
    }
    if (at + length > text.size()) return 0;
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xC0U) != 0x80U) return 0;
        code = (code << 6U) | (byte(at + i) & 0x3FU);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF)) {
        return 0;  // overlong, beyond Unicode, or a surrogate
    }
    return length;
}

class Scanner {
public:
    explicit Scanner(std::string_view text) : text_(text) {}

    Result<Scan> run();

private:
    Status fail(std::string_view what) const {
        return Status::error(std::string(what) + " at byte " + std::to_string(pos_));
    }
    void skip_space() {
        while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    }
    bool at_end() const { return pos_ >= text_.size(); }
    Status scan_string();
    Status scan_number(bool& integer);
    Status scan_literal(std::string_view word);
    Status scan_member_name(std::string& name);

    std::string_view text_;
    std::size_t pos_ = 0;
};

Status Scanner::scan_string() {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
        const auto c = static_cast<unsigned char>(text_[pos_]);
        if (c == '"') {
            ++pos_;
            return Status::ok();
        }
        if (c < 0x20) return fail(c == 0 ? "NUL byte in a string" : "control character in a string");
        if (c == '\\') {
            if (pos_ + 1 >= text_.size()) break;
            const char escaped = text_[pos_ + 1];
            if (escaped != 'u') {
                if (std::string_view("\"\\/bfnrt").find(escaped) == std::string_view::npos) {
                    return fail("invalid escape in a string");
                }
                pos_ += 2;
                continue;
            }
            const auto unit_at = [&](std::size_t at) -> int {
                if (at + 6 > text_.size() || text_[at] != '\\' || text_[at + 1] != 'u') return -1;
                int unit = 0;
                for (std::size_t i = at + 2; i < at + 6; ++i) {
                    const int digit = hex_value(text_[i]);
                    if (digit < 0) return -1;
                    unit = unit * 16 + digit;
                }
                return unit;
            };
            const int unit = unit_at(pos_);
            if (unit < 0) return fail("invalid \\u escape in a string");
            if (unit >= 0xDC00 && unit <= 0xDFFF) return fail("unpaired surrogate escape in a string");
            if (unit >= 0xD800 && unit <= 0xDBFF) {
                const int low = unit_at(pos_ + 6);
                if (low < 0xDC00 || low > 0xDFFF) return fail("unpaired surrogate escape in a string");
                pos_ += 12;
            } else {
                pos_ += 6;
            }
            continue;
        }
        if (c >= 0x80) {
            const std::size_t length = utf8_sequence(text_, pos_);
            if (length == 0) return fail("invalid UTF-8 in a string");
            pos_ += length;
            continue;
        }
        ++pos_;
    }
    return fail("unterminated string");
}

Status Scanner::scan_number(bool& integer) {
    integer = true;
    if (text_[pos_] == '-') ++pos_;
    if (at_end() || !is_digit(text_[pos_])) return fail("invalid number");
    if (text_[pos_] == '0') {
        ++pos_;
    } else {
        while (!at_end() && is_digit(text_[pos_])) ++pos_;
    }
    if (!at_end() && text_[pos_] == '.') {
        integer = false;
        ++pos_;
        if (at_end() || !is_digit(text_[pos_])) return fail("invalid number");
        while (!at_end() && is_digit(text_[pos_])) ++pos_;
    }
    if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
        integer = false;
        ++pos_;
        if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
        if (at_end() || !is_digit(text_[pos_])) return fail("invalid number");
        while (!at_end() && is_digit(text_[pos_])) ++pos_;
    }
    return Status::ok();
}

Status Scanner::scan_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return fail("unexpected character");
    pos_ += word.size();
    return Status::ok();
}

Status Scanner::scan_member_name(std::string& name) {
    if (at_end() || text_[pos_] != '"') return fail(at_end() ? "unexpected end" : "expected a member name");
    const std::size_t start = pos_;
    if (Status status = scan_string(); !status) return status;
    name = decode_string(text_.substr(start, pos_ - start));
    skip_space();
    if (at_end() || text_[pos_] != ':') return fail(at_end() ? "unexpected end" : "expected ':'");
    ++pos_;
    skip_space();
    return Status::ok();
}

Result<Scan> Scanner::run() {
    Scan result;
    // The open containers, '{' or '['; the root is containers_[0].
    std::vector<char> containers;
    std::string name;              // the top-level member being read
    std::size_t member_start = 0;  // where its value starts
    Kind member_kind = Kind::null;
    bool member_integer = false;

    skip_space();
    if (at_end()) return Status::error("no JSON value");
    const std::size_t root_start = pos_;
    for (;;) {
        // A value starts at pos_.
        if (at_end()) return fail("unexpected end");
        Kind kind = Kind::null;
        bool integer = false;
        const char c = text_[pos_];
        if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            containers.push_back(c);
            if (containers.size() == 2 && containers[0] == '{') {
                member_kind = c == '{' ? Kind::object : Kind::array;
                member_integer = false;
            }
            ++pos_;
            skip_space();
            if (at_end() || text_[pos_] != close) {
                if (c == '{') {
                    std::string inner;
                    if (Status status = scan_member_name(containers.size() == 1 ? name : inner); !status)
                        return status;
                    if (containers.size() == 1) member_start = pos_;
                }
                continue;
            }
            ++pos_;
            containers.pop_back();
            kind = c == '{' ? Kind::object : Kind::array;
        } else {
            Status status;
            if (c == '"') {
                kind = Kind::string;
                status = scan_string();
            } else if (c == '-' || is_digit(c)) {
                kind = Kind::number;
                status = scan_number(integer);
            } else if (c == 't' || c == 'f') {
                kind = Kind::boolean;
                status = scan_literal(c == 't' ? "true" : "false");
            } else if (c == 'n') {
                status = scan_literal("null");
            } else {
                status = fail("unexpected character");
            }
            if (!status) return status;
            if (containers.size() == 1 && containers[0] == '{') {
                member_kind = kind;
                member_integer = integer;
            }
        }
        // A value ended at pos_; close every container that ends here.
        for (;;) {
            if (containers.empty()) {
                result.root = Value{kind, text_.substr(root_start, pos_ - root_start), integer};
                skip_space();
                if (!at_end()) return fail("unexpected data after the JSON value");
                return result;
            }
            if (containers.size() == 1 && containers[0] == '{') {
                result.members.push_back(Member{
                    std::move(name),
                    Value{member_kind, text_.substr(member_start, pos_ - member_start), member_integer}});
                name.clear();
            }
            skip_space();
            if (at_end()) return fail("unexpected end");
            const char open = containers.back();
            const char next = text_[pos_];
            if (next == ',') {
                ++pos_;
                skip_space();
                if (open == '{') {
                    std::string inner;
                    if (Status status = scan_member_name(containers.size() == 1 ? name : inner); !status)
                        return status;
                    if (containers.size() == 1) member_start = pos_;
                }
                break;  // the next value
            }
            if (next != (open == '{' ? '}' : ']'))
                return fail(open == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
            ++pos_;
            containers.pop_back();
            kind = open == '{' ? Kind::object : Kind::array;
        }
    }
}

void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
        out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (code >> 6)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (code >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (code >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
}

std::uint32_t hex4(std::string_view digits) {
    std::uint32_t value = 0;
    for (const char c : digits) value = value * 16 + static_cast<std::uint32_t>(hex_value(c));
    return value;
}

}  // namespace

std::string_view describe(Kind kind) noexcept {
    switch (kind) {
        case Kind::null:
            return "null";
        case Kind::boolean:
            return "a boolean";
        case Kind::number:
            return "a number";
        case Kind::string:
            return "a string";
        case Kind::array:
            return "an array";
        case Kind::object:
            return "an object";
    }
    return "a value";
}

const Value* Scan::find(std::string_view name) const noexcept {
    for (auto member = members.rbegin(); member != members.rend(); ++member) {
        if (member->name == name) return &member->value;
    }
    return nullptr;
}

Result<Scan> scan(std::string_view text) {
    return Scanner(text).run();
}

std::string decode_string(std::string_view raw) {
    const std::string_view body = raw.substr(1, raw.size() - 2);
    if (body.find('\\') == std::string_view::npos) return std::string(body);
    std::string out;
    out.reserve(body.size());
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] != '\\') {
            out.push_back(body[i]);
            continue;
        }
        const char escaped = body[++i];
        switch (escaped) {
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'u': {
                std::uint32_t code = hex4(body.substr(i + 1, 4));
                i += 4;
                if (code >= 0xD800 && code <= 0xDBFF) {  // scan() checked that the low half follows
                    code = 0x10000 + ((code - 0xD800) << 10U) + (hex4(body.substr(i + 3, 4)) - 0xDC00);
                    i += 6;
                }
                append_utf8(out, code);
                break;
            }
            default:  // " \ /
                out.push_back(escaped);
        }
    }
    return out;
}

}  // namespace indexer::json
