#include "indexer/sinks/elasticsearch/bulk_request.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace indexer::sinks::elasticsearch {
namespace {

using indexer::sdk::Op;

// Length of the UTF-8 sequence starting at text[i], or 0 when it is invalid
// (overlong forms, surrogates and code points above U+10FFFF included).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        code = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        code = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        code = lead & 0x07;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        code = (code << 6) | (byte(i + k) & 0x3F);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10FFFF))) return 0;
    if (code >= 0xD800 && code <= 0xDFFF) return 0;
    return length;
}

std::string_view index_of(const Op& op, std::string_view default_index) {
    return op.target().empty() ? default_index : op.target();
}

std::string document_key(const Op& op, std::string_view default_index) {
    const std::string_view index = index_of(op, default_index);
    std::string key;
    key.reserve(index.size() + 1 + op.id().size());
    key.append(index);
    key.push_back('\0');
    key.append(op.id());
    return key;
}

}  // namespace

bool append_json_string(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::size_t mark = out.size();
    out.push_back('"');
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            const std::size_t length = utf8_sequence_length(text, i);
            if (length == 0) {
                out.resize(mark);
                return false;
            }
            out.append(text.substr(i, length));
            i += length;
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (u < 0x20) {
                    out += "\\u00";
                    out.push_back(kHex[u >> 4]);
                    out.push_back(kHex[u & 0x0F]);
                } else {
                    out.push_back(c);
                }
        }
        ++i;
    }
    out.push_back('"');
    return true;
}

std::optional<std::string> id_problem(std::string_view id) {
    if (id.empty()) return std::string("the id is empty");
    if (id.size() > kMaxIdBytes) {
        return "the id is " + std::to_string(id.size()) + " bytes long; Elasticsearch allows at most " +
               std::to_string(kMaxIdBytes);
    }
    std::string scratch;
    if (!append_json_string(scratch, id)) return std::string("the id is not valid UTF-8");
    return std::nullopt;
}

std::optional<std::string> check_op(const Op& op, std::string_view default_index) {
    if (!op.is_upsert() && !op.is_delete()) {
        return "unknown op kind " + std::to_string(static_cast<std::uint32_t>(op.kind()));
    }
    if (auto problem = id_problem(op.id())) return problem;
    std::string scratch;
    const std::string_view index = index_of(op, default_index);
    if (index.empty()) return std::string("no index: the op has no target and config.index is not set");
    if (!append_json_string(scratch, index)) return std::string("the target index is not valid UTF-8");
    if (op.version() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return "version " + std::to_string(op.version()) +
               " is beyond Elasticsearch's range (a signed 64-bit integer)";
    }
    if (op.is_upsert()) {
        const std::string_view document = op.document();
        const auto first = document.find_first_not_of(" \t\r\n");
        if (first == std::string_view::npos) return std::string("the document is empty");
        if (document[first] != '{') return std::string("the document is not a JSON object");
    }
    return std::nullopt;
}

void append_op(std::string& body, const Op& op, std::string_view default_index) {
    body += op.is_upsert() ? "{\"index\":{\"_index\":" : "{\"delete\":{\"_index\":";
    append_json_string(body, index_of(op, default_index));
    body += ",\"_id\":";
    append_json_string(body, op.id());
    if (op.version() != 0) {
        // external_gte: a write carrying an older version than the stored one
        // is refused (409), an equal one is rewritten, so replays are harmless.
        body += ",\"version\":";
        body += std::to_string(op.version());
        body += ",\"version_type\":\"external_gte\"";
    }
    body += "}}\n";
    if (!op.is_upsert()) return;
    const std::string_view document = op.document();
    const std::size_t start = body.size();
    body.append(document);
    // NDJSON ends a document at a line feed. Outside strings (where JSON
    // forbids raw control characters) line breaks are whitespace, so a
    // pretty-printed document stays the same document on one line.
    if (document.find_first_of("\r\n") != std::string_view::npos) {
        for (std::size_t i = start; i < body.size(); ++i) {
            if (body[i] == '\n' || body[i] == '\r') body[i] = ' ';
        }
    }
    body.push_back('\n');
}

BulkPlan plan_bulk(std::span<const Op> ops, std::string_view default_index, RequestLimits limits) {
    BulkPlan plan;
    plan.previous_same_document.assign(ops.size(), BulkPlan::kNone);
    struct Seen {
        std::size_t op;
        std::size_t request;
    };
    std::unordered_map<std::string, Seen> seen;
    seen.reserve(ops.size());
    PlannedRequest current;
    const auto finish = [&] {
        if (current.ops.empty()) return;
        plan.requests.push_back(std::move(current));
        current = PlannedRequest{};
    };
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const Op& op = ops[i];
        if (auto reason = check_op(op, default_index)) {
            plan.rejected.push_back(RejectedOp{i, std::move(*reason)});
            continue;
        }
        if (current.ops.size() >= limits.max_ops) finish();
        const std::size_t mark = current.body.size();
        append_op(current.body, op, default_index);
        if (!current.ops.empty() && current.body.size() > limits.max_bytes) {
            current.body.resize(mark);
            finish();
            append_op(current.body, op, default_index);
        }
        const std::size_t request = plan.requests.size();
        current.ops.push_back(i);
        auto [it, inserted] = seen.try_emplace(document_key(op, default_index), Seen{i, request});
        if (inserted) continue;
        plan.previous_same_document[i] = it->second.op;
        const std::size_t earlier = it->second.request;
        if (earlier != request) {
            bool known = false;
            for (std::size_t r : current.after) known = known || r == earlier;
            if (!known) current.after.push_back(earlier);
        }
        it->second = Seen{i, request};
    }
    finish();
    return plan;
}

std::string build_body(std::span<const Op> ops, std::span<const std::size_t> indices,
                       std::string_view default_index) {
    std::string body;
    for (std::size_t i : indices) append_op(body, ops[i], default_index);
    return body;
}

bool share_documents(std::span<const Op> ops, std::span<const std::size_t> first,
                     std::span<const std::size_t> second, std::string_view default_index) {
    std::unordered_set<std::string> keys;
    keys.reserve(first.size());
    for (std::size_t i : first) keys.insert(document_key(ops[i], default_index));
    for (std::size_t i : second) {
        if (keys.count(document_key(ops[i], default_index)) != 0) return true;
    }
    return false;
}

}  // namespace indexer::sinks::elasticsearch
