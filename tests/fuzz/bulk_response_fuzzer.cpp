// The Elasticsearch sink's map_bulk_response on any status and body: never
// throws, and every op of the request gets a valid outcome (or the request is
// split, which only a 400 or 413 of several ops may ask for, and a 400 only
// when it is Elasticsearch's own error JSON: a proxy's 400 would refuse every
// half alike, so splitting it would dead-letter every op).
#include <indexer/sinks/elasticsearch/bulk_response.hpp>

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace es = indexer::sinks::elasticsearch;
using indexer::sdk::Status;

namespace {

void check_outcome(const es::OpOutcome& outcome) {
    FUZZ_CHECK(outcome.status == Status::Ok || outcome.status == Status::Retry ||
               outcome.status == Status::Reject);
    if (outcome.status != Status::Ok) FUZZ_CHECK(!outcome.message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    // Mostly real HTTP statuses, sometimes any long at all.
    const long status =
        input.ConsumeBool() ? input.ConsumeIntegralInRange<long>(100, 599) : input.ConsumeIntegral<long>();
    std::vector<es::ItemContext> ops(input.ConsumeIntegralInRange<std::size_t>(0, 8));
    for (es::ItemContext& op : ops) {
        op.is_delete = input.ConsumeBool();
        op.external_version = input.ConsumeBool();
    }
    const std::string body = input.ConsumeRemainingBytesAsString();

    const es::ResponseMapping mapping = es::map_bulk_response(status, body, ops);
    switch (mapping.action) {
        case es::ResponseAction::Split:
            FUZZ_CHECK((status == 400 || status == 413) && ops.size() > 1);
            if (status == 400) {
                const auto parsed = nlohmann::json::parse(body, nullptr, false);
                FUZZ_CHECK(parsed.is_object() && parsed.contains("error") && parsed["error"].is_object() &&
                           parsed["error"].contains("type") && parsed["error"]["type"].is_string());
            }
            break;
        case es::ResponseAction::PerItem:
            FUZZ_CHECK(mapping.items.size() == ops.size());
            for (const es::OpOutcome& outcome : mapping.items) check_outcome(outcome);
            break;
        case es::ResponseAction::AllOps:
            check_outcome(mapping.all);
            break;
    }
    static_cast<void>(es::describe_error(body));
    return 0;
}
