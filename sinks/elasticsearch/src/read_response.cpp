#include "indexer/sinks/elasticsearch/read_response.hpp"

#include <nlohmann/json.hpp>

#include <optional>

#include "indexer/sinks/elasticsearch/bulk_response.hpp"
#include "indexer/sinks/elasticsearch/raw_json.hpp"

namespace indexer::sinks::elasticsearch {
namespace {

using indexer::sdk::Status;
using nlohmann::json;

constexpr std::size_t kMaxRawText = 300;

std::string clip(std::string_view text) {
    if (text.size() <= kMaxRawText) return std::string(text);
    return std::string(text.substr(0, kMaxRawText)) + "...";
}

std::string http_failure(long http_status, std::string_view body) {
    std::string hint;
    if (http_status == 401) hint = " (authentication failed: check config.auth)";
    if (http_status == 403) hint = " (the credentials lack the privilege to read the index)";
    return "HTTP " + std::to_string(http_status) + hint + (body.empty() ? "" : ": " + describe_error(body));
}

// One entry of `docs`, read member by member; false (reader failed) when it is malformed.
bool read_document(RawJsonReader& reader, DocumentOutcome& outcome) {
    if (!reader.enter_object()) return false;
    std::string_view name;
    std::optional<bool> found;
    std::string_view error;
    while (reader.next_member(name)) {
        const std::string_view value = reader.value();
        if (reader.failed()) return false;
        if (name == "found") {
            found = raw_bool(value);
        } else if (name == "_source") {
            outcome.document = value;
        } else if (name == "_version") {
            outcome.version = raw_unsigned(value).value_or(0);
        } else if (name == "error") {
            error = value;
        }
    }
    if (reader.failed()) return false;
    if (!error.empty()) {
        outcome.document = {};
        outcome.version = 0;
        if (error_type(error) == "index_not_found_exception") {
            outcome.status = Status::NotFound;
            outcome.native_code = 404;
        } else {
            outcome.status = Status::Retry;
            outcome.message = "_mget: " + describe_error(error);
        }
        return true;
    }
    if (!found) {
        outcome =
            DocumentOutcome{Status::Retry, 0, "the _mget response holds an entry without \"found\"", {}, 0};
        return true;
    }
    if (*found) {
        outcome.status = Status::Ok;
        outcome.native_code = 200;
    } else {
        outcome = DocumentOutcome{Status::NotFound, 404, {}, {}, 0};
    }
    return true;
}

}  // namespace

MgetMapping map_mget_response(long http_status, std::string_view body, std::size_t ids) {
    MgetMapping mapping;
    if (http_status == 404 && error_type(body) == "index_not_found_exception") {
        mapping.failure = "the index does not exist";
        mapping.all_not_found = true;
        return mapping;
    }
    if (http_status != 200) {
        mapping.failure = http_failure(http_status, body);
        return mapping;
    }
    RawJsonReader reader(body);
    std::vector<DocumentOutcome> documents;
    documents.reserve(ids);
    std::size_t entries = 0;
    bool seen_docs = false;
    std::string_view name;
    if (reader.enter_object()) {
        while (reader.next_member(name)) {
            if (name != "docs" || seen_docs) {
                reader.value();
                continue;
            }
            seen_docs = true;
            if (!reader.enter_array()) break;
            while (reader.next_element()) {
                DocumentOutcome outcome;
                if (!read_document(reader, outcome)) break;
                // Entries past the expected count are counted, not kept: the answer is refused anyway.
                if (++entries <= ids) documents.push_back(std::move(outcome));
            }
        }
    }
    if (reader.failed() || !reader.at_end()) {
        mapping.failure = "the _mget response is not JSON (" +
                          (reader.failed() ? reader.error() : std::string("text after the object")) +
                          "): " + clip(body);
        return mapping;
    }
    if (!seen_docs || entries != ids) {
        mapping.failure =
            "the _mget response has " + std::to_string(entries) + " docs for " + std::to_string(ids) + " ids";
        return mapping;
    }
    mapping.documents = std::move(documents);
    return mapping;
}

ScrollPage map_scroll_response(long http_status, std::string_view body) {
    ScrollPage page;
    const std::string type = http_status == 200 ? std::string{} : error_type(body);
    if (http_status == 404 && type == "index_not_found_exception") {
        page.failure = "the index does not exist";
        page.index_missing = true;
        return page;
    }
    if (http_status == 404) {
        // An expired or lost scroll: search_context_missing_exception, or a
        // bare 404 with no shard left to answer.
        page.failure =
            "the scroll has expired or its search context is gone: " + http_failure(http_status, body);
        page.context_missing = true;
        return page;
    }
    if (http_status != 200) {
        page.failure = http_failure(http_status, body);
        return page;
    }
    // Checked without recursion before the recursive parse: a body nested
    // deeper than any real answer is refused rather than overflowing the stack.
    constexpr std::size_t kMaxNesting = 64;
    RawJsonReader check(body);
    if (check.value().empty() || !check.at_end()) {
        page.failure = "the scroll response is not JSON: " + clip(body);
        return page;
    }
    if (check.deepest() > kMaxNesting) {
        page.failure = "the scroll response is nested deeper than " + std::to_string(kMaxNesting) + " levels";
        return page;
    }
    const json parsed = json::parse(body, nullptr, false);
    if (!parsed.is_object()) {
        page.failure = "the scroll response is not a JSON object: " + clip(body);
        return page;
    }
    if (const auto scroll_id = parsed.find("_scroll_id");
        scroll_id != parsed.end() && scroll_id->is_string()) {
        page.scroll_id = scroll_id->get<std::string>();
    }
    if (const auto timed_out = parsed.find("timed_out");
        timed_out != parsed.end() && timed_out->is_boolean() && timed_out->get<bool>()) {
        page.failure = "the search timed out on some shards: the page may miss documents";
        return page;
    }
    if (const auto shards = parsed.find("_shards"); shards != parsed.end() && shards->is_object()) {
        const auto failed = shards->find("failed");
        if (failed != shards->end() && (!failed->is_number_unsigned() || failed->get<std::uint64_t>() != 0)) {
            std::string why;
            const auto failures = shards->find("failures");
            if (failures != shards->end() && failures->is_array() && !failures->empty()) {
                const json& first = (*failures)[0];
                why = first.is_object() && first.contains("reason")
                          ? ": " + describe_error(first["reason"].dump())
                          : ": " + clip(first.dump());
            }
            page.failure = failed->dump() + " shards failed, so the page may miss documents" + why;
            return page;
        }
    }
    if (page.scroll_id.empty()) {
        page.failure = "the scroll response has no _scroll_id: " + clip(body);
        return page;
    }
    const auto hits = parsed.find("hits");
    if (hits == parsed.end()) return page;  // filter_path drops an empty hits.hits
    const auto list = hits->is_object() ? hits->find("hits") : hits->end();
    if (!hits->is_object() || list == hits->end() || !list->is_array()) {
        page.failure = "the scroll response's hits are malformed: " + clip(body);
        return page;
    }
    page.ids.reserve(list->size());
    for (const json& hit : *list) {
        const auto id = hit.is_object() ? hit.find("_id") : hit.end();
        if (!hit.is_object() || id == hit.end() || !id->is_string()) {
            page.failure = "the scroll response holds a hit without an _id: " + clip(hit.dump());
            page.ids.clear();
            return page;
        }
        page.ids.push_back(id->get<std::string>());
    }
    return page;
}

}  // namespace indexer::sinks::elasticsearch
