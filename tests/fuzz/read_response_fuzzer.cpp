// The Elasticsearch sink's reading back on any status and body: the _mget
// mapping answers every id (found, not found or RETRY with a message) or
// fails the call with a reason, a found document is a slice of the body that
// is one whole JSON value; a scroll page is ids and a scroll id, or a reason.
// The raw JSON reader never reads past its input, whatever the nesting.
#include <indexer/sinks/elasticsearch/raw_json.hpp>
#include <indexer/sinks/elasticsearch/read_response.hpp>

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

namespace es = indexer::sinks::elasticsearch;
using indexer::sdk::Status;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    const long status =
        input.ConsumeBool() ? input.ConsumeIntegralInRange<long>(100, 599) : input.ConsumeIntegral<long>();
    const std::size_t ids = input.ConsumeIntegralInRange<std::size_t>(0, 8);
    const std::string body = input.ConsumeRemainingBytesAsString();

    const es::MgetMapping mapping = es::map_mget_response(status, body, ids);
    if (mapping.failure.empty()) {
        FUZZ_CHECK(mapping.documents.size() == ids);
        for (const es::DocumentOutcome& document : mapping.documents) {
            FUZZ_CHECK(document.status == Status::Ok || document.status == Status::NotFound ||
                       document.status == Status::Retry);
            if (document.status == Status::Retry) FUZZ_CHECK(!document.message.empty());
            if (document.status != Status::Ok) FUZZ_CHECK(document.document.empty());
            if (!document.document.empty()) {
                // A slice of the body, and one whole value on its own.
                FUZZ_CHECK(document.document.data() >= body.data() &&
                           document.document.data() + document.document.size() <= body.data() + body.size());
                es::RawJsonReader alone(document.document);
                FUZZ_CHECK(alone.value().size() == document.document.size() && alone.at_end());
            }
        }
    } else {
        FUZZ_CHECK(mapping.documents.empty());
    }

    const es::ScrollPage page = es::map_scroll_response(status, body);
    if (page.failure.empty()) {
        FUZZ_CHECK(!page.scroll_id.empty());
    } else {
        FUZZ_CHECK(page.ids.empty());
    }
    FUZZ_CHECK(!(page.index_missing && page.context_missing));
    return 0;
}
